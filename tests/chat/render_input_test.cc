// ChatTemplate's API: what a render sees (messages, tools, add_generation_prompt, bos/eos, the
// extra variables, the clock), copies sharing one parse, and concurrent renders of one
// template; plus a few language behaviours spelled out (the golden snippets cover the rest).
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/chat/golden_data.h"

namespace attnserve::chat {
namespace {

using namespace ::attnserve::chat::testing;

ChatTemplate MustParse(const std::string& source) {
  auto t = ChatTemplate::Parse(source);
  EXPECT_TRUE(t.ok()) << t.status();
  return std::move(*t);
}

TEST(ChatRenderInputTest, VariablesAsTransformersPassesThem) {
  ChatTemplate t = MustParse(
      "{{ bos_token }}{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}"
      "{{ tools is none }}{{ documents is none }}{{ add_generation_prompt }}{{ eos_token }}");
  ChatRenderInput in;
  in.messages = Json::parse(R"([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}])");
  in.bos_token = "<s>";
  in.eos_token = "</s>";
  EXPECT_EQ(*t.Render(in), "<s>[user:hi][assistant:yo]TrueTrueTrue</s>");
  in.add_generation_prompt = false;
  in.tools = Json::parse(R"([{"type": "function", "function": {"name": "f"}}])");
  EXPECT_EQ(*t.Render(in), "<s>[user:hi][assistant:yo]FalseTrueFalse</s>");
}

TEST(ChatRenderInputTest, ExtraContextAddsAndOverrides) {
  ChatTemplate t = MustParse("{{ enable_thinking }}|{{ bos_token }}|{{ date_string | default('none') }}");
  ChatRenderInput in;
  in.bos_token = "<s>";
  in.extra_context = Json::parse(R"({"enable_thinking": false, "bos_token": "<B>"})");
  EXPECT_EQ(*t.Render(in), "False|<B>|none");
  in.extra_context = Json::array();
  EXPECT_EQ(t.Render(in).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ChatRenderInputTest, ToolSchemasKeepTheirKeyOrder) {
  ChatTemplate t = MustParse("{{ tools[0] | tojson }}");
  ChatRenderInput in;
  in.tools = Json::parse(R"([{"type": "function", "function": {"name": "f", "description": "d",
                             "parameters": {"type": "object", "properties": {"z": {}, "a": {}}}}}])");
  EXPECT_EQ(*t.Render(in),
            R"({"type": "function", "function": {"name": "f", "description": "d", "parameters": )"
            R"({"type": "object", "properties": {"z": {}, "a": {}}}}})");
}

TEST(ChatRenderInputTest, StrftimeNowUsesTheGivenTime) {
  UseUtc();
  ChatTemplate t = MustParse("{{ strftime_now('%d %b %Y %H:%M') }}");
  ChatRenderInput in;
  in.now_unix_seconds = 1721995200;  // 2024-07-26 12:00 UTC
  EXPECT_EQ(*t.Render(in), "26 Jul 2024 12:00");
  in.now_unix_seconds.reset();  // the current time: at least well-formed
  EXPECT_EQ(t.Render(in)->size(), std::string("26 Jul 2024 12:00").size());
}

TEST(ChatRenderInputTest, CopiesShareTheParseAndRenderConcurrently) {
  const std::string source = ReadText(kGoldenDir / "qwen2.5-7b-instruct.jinja");
  ChatTemplate t = MustParse(source);
  ChatTemplate copy = t;
  EXPECT_EQ(copy.source(), source);
  ChatRenderInput in;
  in.messages = Json::parse(R"([{"role": "system", "content": "S"}, {"role": "user", "content": "Hi ☃"}])");
  const std::string want = *t.Render(in);
  std::vector<std::thread> threads;
  std::vector<std::string> got(8);
  for (size_t i = 0; i < got.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 50; ++k) got[i] = *(i % 2 ? copy : t).Render(in);
    });
  }
  for (auto& th : threads) th.join();
  for (const std::string& g : got) EXPECT_EQ(g, want);
}

// A few behaviours spelled out; tests/chat/language_test.cc checks them all against jinja2.
TEST(ChatLanguageTest, LoopNamespaceAndWhitespace) {
  auto render = [](const std::string& s) { return *RenderWith(s, Json::object()); };
  EXPECT_EQ(render("{% for x in 'abc' %}{{ loop.index }}{{ x }}{% if not loop.last %},{% endif %}{% endfor %}"),
            "1a,2b,3c");
  EXPECT_EQ(render("{% for x in [1, 2] %}{{ loop.previtem | default('-') }}{% endfor %}"), "-1");
  EXPECT_EQ(render("{% set ns = namespace(n=0) %}{% for x in range(4) %}{% set ns.n = ns.n + x %}{% endfor %}"
                   "{{ ns.n }}"),
            "6");
  EXPECT_EQ(render("{% set n = 0 %}{% for x in range(4) %}{% set n = n + x %}{% endfor %}{{ n }}"), "0");
  EXPECT_EQ(render("a\n  {%- if true -%}\n  b\n  {%- endif %}\nc"), "abc");  // and trim_blocks
  EXPECT_EQ(render("{% if true %}\n  x\n  {% endif %}\ny"), "  x\ny");  // trim_blocks, lstrip_blocks
  EXPECT_EQ(render("{{ {'a': [1, 'é']} | tojson(indent=2) }}"), "{\n  \"a\": [\n    1,\n    \"é\"\n  ]\n}");
  EXPECT_EQ(render("{{ 'a,b'.split(',') }} {{ ' x '.strip() ~ '|' }} {{ [1, 2, 3][::-1] }}"),
            "['a', 'b'] x| [3, 2, 1]");
  EXPECT_EQ(render("{{ 'x' is string }}{{ {} is mapping }}{{ y is defined }}{{ none is none }}"),
            "TrueTrueFalseTrue");
  EXPECT_EQ(render("{% macro m(a, b='B') %}{{ a }}{{ b }}{% endmacro %}{{ m(1) }}{{ m(2, b=3) }}"), "1B23");
  EXPECT_EQ(render("{{ 'héllo' | length }} {{ 'héllo'[1] }}"), "5 é");
}

}  // namespace
}  // namespace attnserve::chat
