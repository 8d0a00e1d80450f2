"""Golden renderings of real chat templates (tests/golden/chat_templates/*.jinja) by Python's jinja2,
configured exactly as transformers' apply_chat_template configures it:

  - ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
    extensions=[AssistantTracker ({% generation %}), jinja2.ext.loopcontrols]);
  - filters["tojson"] = json.dumps(x, ensure_ascii=False, indent=, separators=, sort_keys=);
  - globals raise_exception(message) (raises TemplateError) and strftime_now(format) (here at a
    fixed time, 2024-07-26 12:00:00, which the C++ test gives as unix time in TZ=UTC);
  - render(messages=, tools=, documents=None, add_generation_prompt=, bos_token=, eos_token=,
    **extra).

Every template is rendered over every conversation below (add_generation_prompt true), and over
the conversations that end with an assistant turn with add_generation_prompt false. A case that
fails records the error instead: raise_exception's message verbatim (error_type "raise"), or the
Python exception type (error_type "other"; the C++ side only has to fail too).

Writes tests/golden/chat_templates/golden.json:
  {"fixed_time": ..., "conversations": {name: {"messages", "tools", "extra"}},
   "cases": [{"template", "conversation", "add_generation_prompt", "bos_token", "eos_token",
              "expected"} | {..., "error", "error_type"}]}

    python tools/make_chat_template_golden.py
"""
import json
import os
from datetime import datetime

import jinja2
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE_DIR = os.path.join(HERE, "..", "tests", "golden", "chat_templates")
FIXED_TIME = datetime(2024, 7, 26, 12, 0, 0)
FIXED_UNIX_UTC = 1721995200  # the same instant, seconds since the epoch in UTC


class AssistantTracker(Extension):
    """transformers' {% generation %} ... {% endgeneration %}: renders its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def compile_template(source):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(fmt):
        return FIXED_TIME.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[AssistantTracker, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env.from_string(source)


TOOLS = [
    {"type": "function", "function": {
        "name": "get_current_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city, e.g. Zürich or 東京"},
                "unit": {"type": "string", "description": "Temperature unit",
                         "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    }},
    {"type": "function", "function": {
        "name": "get_time",
        "description": "Current time (no arguments)",
        "parameters": {"type": "object", "properties": {}},
    }},
]
TOOL_CALL = {"id": "call12345", "type": "function",
             "function": {"name": "get_current_weather",
                          "arguments": {"location": "Zürich", "unit": "celsius", "days": 3,
                                        "threshold": 0.5, "detail": True, "extra": None}}}

CONVERSATIONS = {
    "single": {"messages": [{"role": "user", "content": "Hello, how are you?"}]},
    "multi_turn": {"messages": [
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "  Hello! How can I help?  "},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "And 3+3?"},
    ]},
    "system": {"messages": [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "Name a colour."},
        {"role": "assistant", "content": "Blue."},
        {"role": "user", "content": "Another."},
    ]},
    "assistant_last": {"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hi."},
        {"role": "assistant", "content": "Hi."},
    ]},
    "unicode": {"messages": [
        {"role": "system", "content": "Réponds en français. 你好"},
        {"role": "user", "content": "Ça va? 😀 — naïve ☃\n\tligne 2"},
        {"role": "assistant", "content": "Très bien! 日本語 «ok»"},
        {"role": "user", "content": "Ελληνικά\u00a0and\u2028more"},
    ]},
    "special_chars": {"messages": [
        {"role": "user", "content": "Quote \" and ' and \\ backslash, {{ not a template }} {% no %} <|im_end|>"},
    ]},
    "empty_content": {"messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": ""},
    ]},
    "not_alternating": {"messages": [
        {"role": "user", "content": "first"},
        {"role": "user", "content": "second"},
    ]},
    "tools_available": {"tools": TOOLS, "messages": [
        {"role": "system", "content": "You can call tools."},
        {"role": "user", "content": "What's the weather in Zürich?"},
    ]},
    "tool_roundtrip": {"tools": TOOLS, "messages": [
        {"role": "user", "content": "What's the weather in Zürich?"},
        {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL]},
        {"role": "tool", "tool_call_id": "call12345", "name": "get_current_weather",
         "content": "{\"temperature\": 22, \"unit\": \"celsius\"}"},
        {"role": "assistant", "content": "It is 22 °C in Zürich."},
        {"role": "user", "content": "Thanks!"},
    ]},
    "tool_roundtrip_string_args": {"tools": TOOLS, "messages": [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call67890", "type": "function",
             "function": {"name": "get_current_weather", "arguments": "{\"location\": \"Oslo\"}"}}]},
        {"role": "tool", "tool_call_id": "call67890", "name": "get_current_weather", "content": "cold"},
    ]},
    # Templates such as firefunction-v2 read their own variables (passed as apply_chat_template kwargs).
    "functions_kwarg": {"extra": {"functions": json.dumps([t["function"] for t in TOOLS]),
                                  "datetime": "2024-07-26"},
                        "messages": [{"role": "user", "content": "What time is it?"}]},
    # OpenAI-style content parts (templates either join their text or print them as Python does).
    "content_parts": {"messages": [
        {"role": "system", "content": [{"type": "text", "text": "Be kind."}]},
        {"role": "user", "content": [{"type": "text", "text": "Describe"}, {"type": "text", "text": "this ☃"}]},
    ]},
    "long": {"messages": [
        {"role": ("user" if i % 2 == 0 else "assistant"), "content": f"turn {i}: " + "x" * (i % 7)}
        for i in range(21)
    ]},
    "thinking": {"messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "<think>\nThe user greets.\n</think>\n\nHello!"},
        {"role": "user", "content": "Bye"},
    ]},
    "no_thinking_flag": {"extra": {"enable_thinking": False}, "messages": [
        {"role": "user", "content": "Quick answer: 1+1?"},
    ]},
}
ENDS_WITH_ASSISTANT = ["assistant_last", "multi_turn"]

# Each model's own bos/eos (as its tokenizer_config.json has them); "<s>"/"</s>" otherwise.
TOKENS = {
    "llama-3": ("<|begin_of_text|>", "<|eot_id|>"),
    "hermes-2-pro": ("<|begin_of_text|>", "<|im_end|>"),
    "firefunction": ("<|begin_of_text|>", "<|eot_id|>"),
    "functionary": ("<|begin_of_text|>", "<|eot_id|>"),
    "gemma": ("<bos>", "<eos>"),
    "qwen": ("", "<|im_end|>"),
    "qwq": ("", "<|im_end|>"),
    "smollm2": ("<|im_start|>", "<|im_end|>"),
    "chatml": ("<s>", "<|im_end|>"),
    "deepseek-r1": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "deepseek-v2": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "deepseek-coder": ("<｜begin▁of▁sentence｜>", "<|EOT|>"),
    "command-r": ("<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>"),
    "granite": ("<|end_of_text|>", "<|end_of_text|>"),
    "phi-3": ("<s>", "<|endoftext|>"),
    "phi-4": ("<|endoftext|>", "<|im_end|>"),
    "gpt-oss": ("<|startoftext|>", "<|return|>"),
    "kimi": ("[BOS]", "[EOS]"),
    "chatglm4": ("", "<|endoftext|>"),
}


def tokens_for(name):
    for prefix, pair in TOKENS.items():
        if name.startswith(prefix):
            return pair
    return ("<s>", "</s>")


# The template language, case by case: (name, template, context). Rendered by jinja2 like the
# real templates; the C++ test renders each and compares (tests/chat/language_test.cc).
MSGS = [{"role": "system", "content": "S"}, {"role": "user", "content": "U1"},
        {"role": "assistant", "content": "A1"}, {"role": "user", "content": "U2"}]
SNIPPETS = [
    # Text, output, comments.
    ("text", "plain text", {}),
    ("output", "a{{ x }}b", {"x": "X"}),
    ("undefined_prints_nothing", "[{{ missing }}]", {}),
    ("print_values", "{{ none }} {{ true }} {{ false }} {{ 3 }} {{ -2 }} {{ [1, 'a', none] }} "
     "{{ {'k': 'v', 'n': [1.5]} }} {{ (1,) }} {{ (1, 'b') }} {{ () }} {{ [] }} {{ {} }}", {}),
    ("print_floats", "{{ 1.0 }} {{ 0.1 + 0.2 }} {{ 1e3 }} {{ 1.5e-7 }} {{ 2.5e16 }} {{ 7 / 2 }} "
     "{{ 4 / 2 }} {{ 1 / 3 }} {{ -0.0 }} {{ 123456789.125 }}", {}),
    ("print_string_repr", "{{ ['it\\'s', 'say \"hi\"', 'both \\' \"', 'tab\\t', 'é', '\\x01'] }}", {}),
    ("print_context_values", "{{ x }} {{ y }} {{ z }} {{ f }}",
     {"x": {"a": [1, {"b": None}]}, "y": [True, False], "z": "ü", "f": 2.5}),
    ("comment", "a{# gone #}b{#- trimmed -#}  c", {}),
    ("string_escapes", "{{ 'a\\nb\\tc\\\\d\\'e\"f' }}|{{ \"g\\\"h\" }}|{{ '\\u00e9\\x41\\U0001F600' }}|"
     "{{ 'adj' 'acent' }}", {}),
    ("raw_newline_in_string", "{{ 'line1\nline2' }}", {}),
    # Whitespace control and the trim settings.
    ("trim_blocks", "{% if true %}\nx\n{% endif %}\ny", {}),
    ("lstrip_blocks", "a\n    {% if true %}\n    b\n    {% endif %}\nc", {}),
    ("lstrip_not_after_text", "a  {% if true %}b{% endif %}", {}),
    ("lstrip_plus_disables", "a\n    {%+ if true %}b{% endif %}", {}),
    ("trim_plus_disables", "{% if true +%}\nx{% endif %}", {}),
    ("minus_trims", "a   {{- 'b' -}}   c  {%- if true -%}  d  {%- endif %}", {}),
    ("minus_trims_newlines", "a\n\n  {%- for x in [1, 2] -%}\n  {{ x }}\n  {%- endfor -%}\n\nz", {}),
    ("output_keeps_newline", "{{ 'a' }}\n{{ 'b' }}\n", {}),
    ("trailing_newline_dropped", "x\n", {}),
    ("comment_lstrip_trim", "a\n  {# c #}\nb", {}),
    ("crlf_text", "a\r\nb{% if true %}\r\nc{% endif %}", {}),
    # if / elif / else.
    ("if_elif_else", "{% for n in [1, 2, 3] %}{% if n == 1 %}one{% elif n == 2 %}two{% else %}many"
     "{% endif %},{% endfor %}", {}),
    ("if_truthiness", "{% for v in [0, 1, '', 'a', [], [0], {}, none, 0.0] %}{% if v %}T{% else %}F"
     "{% endif %}{% endfor %}", {}),
    # for loops and the loop object.
    ("loop_object", "{% for x in items %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}"
     "{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}",
     {"items": ["a", "b", "c"]}),
    ("loop_previtem_nextitem", "{% for x in [1, 2, 3] %}({{ loop.previtem }}|{{ loop.nextitem }})"
     "{{ loop.previtem is defined }}{% endfor %}", {}),
    ("loop_cycle", "{% for x in range(5) %}{{ loop.cycle('a', 'b') }}{% endfor %}", {}),
    ("loop_depth", "{% for x in [1] %}{{ loop.depth }}{{ loop.depth0 }}{% endfor %}", {}),
    ("nested_loops", "{% for a in [1, 2] %}{% for b in 'xy' %}{{ a }}{{ b }}{{ loop.index }}"
     "{% endfor %}{{ loop.last }};{% endfor %}", {}),
    ("for_else", "{% for x in [] %}x{% else %}empty{% endfor %}{% for x in [1] %}{{ x }}{% else %}"
     "no{% endfor %}", {}),
    ("for_filter_condition", "{% for x in [1, 2, 3, 4] if x % 2 == 0 %}{{ loop.index }}:{{ x }}"
     "{% if not loop.last %},{% endif %}{% endfor %}", {}),
    ("for_unpacking", "{% for a, b in [[1, 2], (3, 4)] %}{{ a }}-{{ b }};{% endfor %}"
     "{% for (k, v) in d|items %}{{ k }}={{ v }};{% endfor %}", {"d": {"x": 1, "y": 2}}),
    ("for_over_dict_and_string", "{% for k in d %}{{ k }}{% endfor %}|{% for c in 'hé!' %}[{{ c }}]"
     "{% endfor %}", {"d": {"b": 1, "a": 2}}),
    ("for_over_undefined", "[{% for x in nothing %}{{ x }}{% endfor %}]", {}),
    ("break_continue", "{% for n in [1, 2, 3, 4] %}{% if n == 2 %}{% continue %}{% endif %}"
     "{% if n == 4 %}{% break %}{% endif %}{{ n }}{% endfor %}", {}),
    ("loop_var_after_loop", "{% set x = 'outer' %}{% for x in [1, 2] %}{% endfor %}{{ x }}", {}),
    ("for_over_messages", "{% for m in messages %}{{ m.role }}:{{ m['content'] }}"
     "{% if not loop.last %} {% endif %}{% endfor %}", {"messages": MSGS}),
    # set, scopes, namespace, set blocks.
    ("set_and_scope", "{% set a = 1 %}{% for x in [1] %}{% set a = 2 %}{{ a }}{% endfor %}{{ a }}"
     "{% if true %}{% set b = 3 %}{% endif %}{{ b }}", {}),
    ("set_multiple_targets", "{% set a, b = 1, 'two' %}{{ a }}{{ b }}{% set c, d = [3, 4] %}{{ c + d }}", {}),
    ("set_tuple_value", "{% set t = 1, 2 %}{{ t }}", {}),
    ("namespace", "{% set ns = namespace(total=0, seen=false) %}{% for x in [1, 2, 3] %}"
     "{% set ns.total = ns.total + x %}{% if x == 2 %}{% set ns.seen = true %}{% endif %}"
     "{% endfor %}{{ ns.total }} {{ ns.seen }}", {}),
    ("namespace_new_attribute", "{% set ns = namespace() %}{% set ns.a = 'x' %}{{ ns.a }}"
     "{{ ns.b is defined }}", {}),
    ("namespace_from_dict", "{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}", {}),
    ("set_attribute_of_dict", "{% set d = {'a': 1} %}{% set d.a = 2 %}{{ d.a }}", {}),
    ("set_block", "{% set x %}Hello {{ name }}!{% endset %}[{{ x }}]", {"name": "W"}),
    ("set_block_filter", "{% set x | trim | upper %}  hi  {% endset %}[{{ x }}]", {}),
    ("filter_block", "{% filter upper %}abc {{ 'd' }}{% endfilter %}|{% filter replace('a', 'b') | "
     "trim %}  aa  {% endfilter %}", {}),
    ("override_global", "{% set add_generation_prompt = false %}{{ add_generation_prompt }}",
     {"add_generation_prompt": True}),
    # Macros.
    ("macro_defaults_kwargs", "{% macro m(a, b='B', c=none) %}{{ a }}{{ b }}{{ c }}{% endmacro %}"
     "{{ m(1) }}|{{ m(1, 2) }}|{{ m(1, c=3) }}|{{ m(a='x') }}", {}),
    ("macro_scope", "{% set g = 'G' %}{% macro m() %}{% set g = 'L' %}{{ g }}{{ v }}{% endmacro %}"
     "{{ m() }}{{ g }}", {"v": "V"}),
    ("macro_recursion", "{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1)|int }}"
     "{% endif %}{% endmacro %}{{ fact(5) }}", {}),
    ("macro_missing_argument", "{% macro m(a, b) %}[{{ a }}|{{ b }}|{{ b is defined }}]{% endmacro %}"
     "{{ m(1) }}", {}),
    ("macro_whitespace", "{%- macro m(x) -%}\n  <{{ x }}>\n{%- endmacro -%}\n{{ m(1) }}{{ m(2) }}", {}),
    ("macro_returns_string", "{% macro m() %}7{% endmacro %}{{ m() ~ '|' ~ (m() == '7') }}", {}),
    # Expressions.
    ("arithmetic", "{{ 1 + 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 * 3 - 1 }} "
     "{{ 2 ** 10 }} {{ 1.5 + 1 }} {{ 7.5 // 2 }} {{ 2 ** -1 }} {{ true + 1 }}", {}),
    ("precedence", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 'a' ~ 2 * 3 }} {{ not true or true }} "
     "{{ -2 ** 2 }} {{ 2 ** 3 ** 2 }} {{ 10 - 2 - 3 }}", {}),
    ("concat_operator", "{{ 'n=' ~ 3 ~ none ~ true ~ [1] }}", {}),
    ("string_and_list_ops", "{{ 'ab' * 3 }} {{ [1] * 2 }} {{ [1, 2] + [3] }} {{ 'a' + 'b' }}", {}),
    ("comparisons", "{{ 1 < 2 }}{{ 2 <= 1 }}{{ 'a' == 'a' }}{{ 'a' != 'a' }}{{ 3 > 2 }}{{ 1 >= 1 }}"
     "{{ 1 < 2 < 3 }}{{ 1 < 3 < 2 }}{{ 'abc' < 'abd' }}{{ [1, 2] < [1, 3] }}{{ 1 == 1.0 }}"
     "{{ none == none }}{{ 'a' == 1 }}", {}),
    ("logic_values", "{{ true and false }}{{ true or false }}{{ not true }}{{ not (1 == 2) }}"
     "{{ 0 or 'x' }}{{ 'a' and 'b' }}{{ '' and 'b' }}|{{ none or [] }}", {}),
    ("in_operator", "{{ 'b' in 'abc' }}{{ 2 in [1, 2] }}{{ 'k' in d }}{{ 'q' not in d }}"
     "{{ not 'a' in 'xyz' }}{{ (1, 2) in [(1, 2)] }}{{ '' in 'a' }}", {"d": {"k": 1}}),
    ("conditional_expression", "{{ 'yes' if flag else 'no' }}[{{ 'a' if false }}]"
     "{{ 1 if false else 2 if true else 3 }}", {"flag": True}),
    ("attribute_and_item", "{{ d.a }}{{ d['a'] }}{{ d.b.c }}{{ d['b']['c'] }}{{ l.0 }}{{ l[1] }}"
     "{{ l[-1] }}{{ d.get('a') }}{{ d.get('zz', 'dflt') }}{{ d.get('zz') }}",
     {"d": {"a": 1, "b": {"c": 2}}, "l": [5, 6, 7]}),
    ("missing_attribute_is_undefined", "[{{ d.zz }}][{{ d['zz'] }}][{{ l[10] }}]{{ d.zz is defined }}",
     {"d": {"a": 1}, "l": [1]}),
    ("method_shadows_key", "{{ d.items()|list }} {{ d['items'] }}", {"d": {"items": 1}}),
    ("slicing", "{{ l[1:] }}{{ l[:-1] }}{{ l[::-1] }}{{ l[::2] }}{{ l[1:3] }}{{ l[5:] }}{{ l[-2:] }}"
     "{{ l[3:0:-1] }}|{{ s[1:] }}|{{ s[::-1] }}|{{ s[:2] }}|{{ s[-1] }}|{{ s[0] }}",
     {"l": [1, 2, 3, 4], "s": "héllo"}),
    ("dict_methods", "{{ d.keys()|list }}{{ d.values()|list }}{% for k, v in d.items() %}{{ k }}={{ v }};"
     "{% endfor %}", {"d": {"x": 1, "y": "z"}}),
    ("list_literals_and_dicts", "{% set d = {'a': 1, 'b': [1, 2], 'a': 3} %}{{ d }} {{ d|length }} "
     "{{ [1, [2, (3,)]] }}", {}),
    ("range", "{{ range(3)|list }}{{ range(1, 5, 2)|list }}{{ range(5, 0, -2)|list }}"
     "{{ range(0)|list }}", {}),
    ("dict_builtin", "{{ dict(a=1, b='x') }}", {}),
    ("strftime_now", "{{ strftime_now('%Y-%m-%d %H:%M:%S') }} {{ strftime_now('%d %b %Y') }} "
     "{{ strftime_now('%B %d, %Y %A') }}", {}),
    ("raise_exception", "{% if true %}{{ raise_exception('Only user roles are supported!') }}{% endif %}", {}),
    ("generation_block", "a{% generation %}b{{ 1 }}{% endgeneration %}c", {}),
    # Tests.
    ("tests_basic", "{{ x is defined }}{{ y is defined }}{{ y is not defined }}{{ y is undefined }}"
     "{{ n is none }}{{ s is string }}{{ n is not none }}", {"x": 1, "n": None, "s": "s"}),
    ("tests_types", "{% for v in [1, 1.5, 'a', [1], {'a': 1}, none, true] %}{{ v is number }}"
     "{{ v is integer }}{{ v is float }}{{ v is string }}{{ v is mapping }}{{ v is iterable }}"
     "{{ v is sequence }}{{ v is boolean }};{% endfor %}", {}),
    ("tests_values", "{{ 2 is even }}{{ 3 is odd }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(2) }}"
     "{{ true is true }}{{ 1 is true }}{{ false is false }}{{ 'a' is in 'abc' }}{{ 1 is eq 1 }}"
     "{{ 1 is ne 2 }}{{ 1 is lt 2 }}{{ 2 is gt 1 }}{{ 1 is le 1 }}{{ 1 is ge 2 }}{{ 'ab' is lower }}"
     "{{ 'AB' is upper }}{{ none is sameas none }}{{ range is callable }}{{ 'a' is callable }}", {}),
    ("test_on_attribute", "{{ m.tool_calls is defined and m.tool_calls is not none }}"
     "{{ m.content is string }}", {"m": {"role": "user", "content": "x"}}),
    # Filters.
    ("filter_trim", "[{{ '  a b \\n' | trim }}][{{ 'xxaxx' | trim('x') }}]", {}),
    ("filter_case", "{{ 'abC' | upper }}{{ 'ABc' | lower }}{{ 'hello world' | title }}"
     "{{ 'hELLO' | capitalize }}{{ 'éa'|upper }}", {}),
    ("unicode_case", "{{ 'straße ÿ ŉ'|upper }}|{{ 'ÀÉÎ İ ΣΑΣ ΟΔΟΣ Σ'|lower }}|{{ 'привет мир'|title }}|"
     "{{ 'ÉCOLE'.capitalize() }}|{{ 'ßa'.capitalize() }}|{{ 'ΑΒΓ'.lower() }}{{ 'αβγ'.upper() }}|"
     "{{ 'école élève'.title() }}|{{ 'Ünïcode ß'.upper() }}|{{ '日本語'.upper() }}", {}),
    ("unicode_case_tests", "{{ 'é' is lower }}{{ 'É' is upper }}{{ '12' is lower }}{{ 'aB'.islower() }}"
     "{{ 'ПРИВЕТ'.isupper() }}{{ '日本'.islower() }}", {}),
    ("filter_length", "{{ [1, 2] | length }}{{ 'héllo' | length }}{{ {'a': 1} | length }}"
     "{{ 'ab' | count }}{{ nothing | length }}", {}),
    ("filter_replace", "{{ 'aaa' | replace('a', 'b') }} {{ 'aaa' | replace('a', 'b', 2) }} "
     "{{ 'abc' | replace('', '-') }}", {}),
    ("filter_join", "{{ [1, 2, 3] | join(', ') }} {{ ['a', 'b'] | join }} "
     "{{ msgs | join('|', attribute='role') }}", {"msgs": MSGS}),
    ("filter_default", "{{ x | default('d') }} {{ y | default('d') }} {{ e | default('d') }} "
     "{{ e | default('d', true) }} {{ n | d('dn') }} {{ x | default }}", {"y": "Y", "e": "", "n": None}),
    ("filter_tojson", "{{ d | tojson }}|{{ 'é\"<>&\\'' | tojson }}|{{ [1, 2.5, none, true] | tojson }}",
     {"d": {"b": 1, "a": [1, {"c": "ü"}], "e": {}, "f": []}}),
    ("filter_tojson_indent", "{{ d | tojson(indent=2) }}|{{ d | tojson(indent=4) }}|{{ [] | tojson(indent=2) }}"
     "|{{ d | tojson(indent='\\t') }}", {"d": {"b": 1, "a": [1, {"c": "ü"}], "e": {}, "f": []}}),
    ("filter_tojson_options", "{{ d | tojson(sort_keys=true) }}|{{ d | tojson(separators=(',', ':')) }}"
     "|{{ d | tojson(ensure_ascii=true) }}", {"d": {"b": "é😀", "a": [1, 2]}}),
    ("filter_first_last", "{{ [1, 2, 3] | first }}{{ [1, 2, 3] | last }}{{ 'abc' | first }}"
     "[{{ [] | first }}]", {}),
    ("filter_list_string", "{{ 'ab' | list }}{{ 5 | string }}{{ [1] | string }}{{ none | string }}", {}),
    ("filter_int_float", "{{ '42' | int }}{{ '4.7' | int }}{{ 'x' | int }}{{ 'x' | int(7) }}{{ 3.9 | int }}"
     "{{ '1.5' | float }}{{ 2 | float }}{{ 'q' | float }}", {}),
    ("filter_abs_round", "{{ -3 | abs }}{{ -2.5 | abs }}{{ 2.5 | round }}{{ 3.5 | round }}"
     "{{ 2.675 | round(2) }}{{ 2.1 | round(0, 'ceil') }}{{ 2.9 | round(method='floor') }}", {}),
    ("filter_items_dictsort", "{{ d | items | list }}{{ d | dictsort }}{{ d | dictsort(reverse=true) }}"
     "{{ d | dictsort(by='value') }}", {"d": {"b": 2, "a": 3, "C": 1}}),
    ("filter_select_reject", "{{ [0, 1, 2, 3] | select | list }}{{ [0, 1, 2, 3] | reject | list }}"
     "{{ [1, 2, 3, 4] | select('even') | list }}{{ [1, 2, 3] | reject('equalto', 2) | list }}"
     "{{ [1, 5, 9] | select('gt', 4) | list }}", {}),
    ("filter_selectattr", "{{ msgs | selectattr('role', 'equalto', 'user') | list | length }} "
     "{{ (msgs | selectattr('role', 'equalto', 'user') | list)[-1].content }} "
     "{{ msgs | rejectattr('role', 'in', ['user', 'system']) | map(attribute='content') | list }}"
     "{% for i in items | selectattr('on') %}{{ i.n }}{% endfor %}"
     "{% for i in items | selectattr('on', 'defined') %}{{ i.n }}{% endfor %}",
     {"msgs": MSGS, "items": [{"n": 1, "on": True}, {"n": 2, "on": False}, {"n": 3}]}),
    ("filter_map", "{{ msgs | map(attribute='role') | join(',') }} {{ ['a', 'B'] | map('upper') | list }}"
     " {{ items | map(attribute='x', default='?') | list }} {{ nested | map(attribute='a.b') | list }}",
     {"msgs": MSGS, "items": [{"x": 1}, {}], "nested": [{"a": {"b": 7}}]}),
    ("filter_sort_unique", "{{ [3, 1, 2] | sort }}{{ [3, 1, 2] | sort(reverse=true) }}"
     "{{ ['b', 'A', 'c'] | sort }}{{ ['b', 'A', 'c'] | sort(case_sensitive=true) }}"
     "{{ items | sort(attribute='n') | map(attribute='n') | list }}{{ [1, 2, 1, 3, 2] | unique | list }}"
     "{{ ['a', 'A', 'b'] | unique | list }}", {"items": [{"n": 2}, {"n": 1}]}),
    ("filter_min_max_sum", "{{ [3, 1, 2] | min }}{{ [3, 1, 2] | max }}{{ [1, 2, 3] | sum }}"
     "{{ items | sum(attribute='n') }}{{ [1.5, 2] | sum }}", {"items": [{"n": 2}, {"n": 1}]}),
    ("filter_reverse_batch", "{{ [1, 2, 3] | reverse | list }}{{ 'abc' | reverse }}"
     "{{ [1, 2, 3, 4, 5] | batch(2) | list }}{{ [1, 2, 3] | batch(2, 0) | list }}", {}),
    ("filter_indent_center", "{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}|"
     "{{ 'a\\n\\nb' | indent(2, blank=true) }}|[{{ 'ab' | center(6) }}][{{ 'abc' | center(6) }}]", {}),
    ("filter_misc", "{{ 'a <b> & \"c\"' | escape }}|{{ 'one two  three' | wordcount }}|{{ 'x' | safe }}", {}),
    ("filter_chain_precedence", "{{ 'a' ~ ' b ' | trim }}|{{ -1 | abs }}|{{ ('a' ~ ' b ') | trim }}|"
     "{{ x.content | trim + '!' }}", {"x": {"content": " c "}}),
    # String methods.
    ("str_startswith_endswith", "{{ 'hello'.startswith('he') }}{{ 'hello'.endswith('lo') }}"
     "{{ 'hello'.startswith(('x', 'h')) }}{{ 'hello'.endswith('x') }}{{ ''.startswith('') }}", {}),
    ("str_strip", "[{{ '  a  '.strip() }}][{{ '  a  '.lstrip() }}][{{ '  a  '.rstrip() }}]"
     "[{{ 'xxaxy'.strip('xy') }}][{{ '\\n\\ta\\u3000'.strip() }}][{{ '\\n\\nx\\n'.lstrip('\\n') }}]", {}),
    ("str_split", "{{ 'a b  c'.split() }}{{ 'a,b,,c'.split(',') }}{{ 'a,b,c'.split(',', 1) }}"
     "{{ 'a,b,c'.rsplit(',', 1) }}{{ '  x  '.split() }}{{ ''.split(',') }}{{ 'a\\nb\\r\\nc'.splitlines() }}"
     "{{ 'x</think>y'.split('</think>')[-1] }}", {}),
    ("str_case_methods", "{{ 'abc'.upper() }}{{ 'ABC'.lower() }}{{ 'hello world'.title() }}"
     "{{ 'hELLO'.capitalize() }}", {}),
    ("str_find_replace", "{{ 'hello'.find('l') }}{{ 'hello'.rfind('l') }}{{ 'hello'.find('z') }}"
     "{{ 'hello'.count('l') }}{{ 'hello'.replace('l', 'L') }}{{ 'hello'.replace('l', 'L', 1) }}"
     "{{ 'héllo'.index('l') }}", {}),
    ("str_join_format", "{{ ', '.join(['a', 'b']) }} {{ '{} and {}'.format(1, 'x') }} "
     "{{ '{0}{1}{0}'.format('a', 'b') }} {{ '{name}!'.format(name='N') }}", {}),
    ("str_predicates", "{{ '123'.isdigit() }}{{ '12a'.isdigit() }}{{ 'abc'.isalpha() }}"
     "{{ '  '.isspace() }}{{ 'ab1'.isalnum() }}{{ 'AB'.isupper() }}{{ 'ab'.islower() }}", {}),
    ("str_chained_methods", "{{ content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }}",
     {"content": "<think>\nreason\n</think>\n\nanswer"}),
    # Runtime errors (the C++ side must fail too).
    ("error_add_str_int", "{{ 'a' + 1 }}", {}),
    ("error_division_by_zero", "{{ 1 / 0 }}", {}),
    ("error_undefined_attribute", "{{ nothing.attr }}", {}),
    ("error_undefined_operand", "{{ nothing + 1 }}", {}),
    ("error_unsafe_append", "{% set x = [] %}{{ x.append(1) }}", {}),
    ("error_call_non_callable", "{{ 'a'() }}", {}),
    ("error_not_iterable", "{% for x in 5 %}{% endfor %}", {}),
    ("error_macro_too_many_args", "{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", {}),
    ("error_unpack_count", "{% for a, b in [[1, 2, 3]] %}{% endfor %}", {}),
    ("error_syntax", "{% if %}", {}),
    ("error_unclosed_block", "{% for x in y %}", {}),
    ("error_unknown_tag", "{% frobnicate %}", {}),
]


def render_case(template_source, context):
    """{"expected": text} or {"error": ..., "error_type": "raise" | "other"} (also for parse errors)."""
    try:
        return {"expected": compile_template(template_source).render(**context)}
    except jinja2.exceptions.TemplateError as e:
        if type(e) is jinja2.exceptions.TemplateError:  # raise_exception
            return {"error": str(e), "error_type": "raise"}
        return {"error": f"{type(e).__name__}: {e}", "error_type": "other"}
    except Exception as e:  # TypeError etc. from the template's own operations
        return {"error": f"{type(e).__name__}: {e}", "error_type": "other"}


def main():
    names = sorted(f[:-len(".jinja")] for f in os.listdir(TEMPLATE_DIR) if f.endswith(".jinja"))
    cases = []
    for name in names:
        with open(os.path.join(TEMPLATE_DIR, name + ".jinja"), encoding="utf-8") as f:
            source = f.read()
        bos, eos = tokens_for(name)
        runs = [(c, True) for c in CONVERSATIONS] + [(c, False) for c in ENDS_WITH_ASSISTANT]
        for conv_name, add_gen in runs:
            conv = CONVERSATIONS[conv_name]
            case = {"template": name, "conversation": conv_name, "add_generation_prompt": add_gen,
                    "bos_token": bos, "eos_token": eos}
            case.update(render_case(source, dict(
                messages=conv["messages"], tools=conv.get("tools"), documents=None,
                add_generation_prompt=add_gen, bos_token=bos, eos_token=eos,
                **conv.get("extra", {}))))
            cases.append(case)
    snippets = []
    for snippet_name, source, context in SNIPPETS:
        snippet = {"name": snippet_name, "template": source, "context": context}
        snippet.update(render_case(source, context))
        snippets.append(snippet)
    out = {"fixed_time": FIXED_TIME.isoformat(), "fixed_unix_utc": FIXED_UNIX_UTC,
           "jinja2_version": jinja2.__version__,
           "conversations": CONVERSATIONS, "cases": cases, "snippets": snippets}
    path = os.path.join(TEMPLATE_DIR, "golden.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    failed = sum("error" in c for c in cases)
    print(f"{path}: {len(snippets)} snippets, {len(names)} templates, {len(cases)} cases ({failed} errors), "
          f"{os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
