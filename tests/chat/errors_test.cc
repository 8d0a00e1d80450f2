// Refusals, runtime errors and resource limits: a template using something the interpreter does
// not implement is refused by Parse with the construct and line named; runtime errors carry the
// line; raise_exception's message is kept verbatim; loops, recursion, output and nesting are
// bounded (ResourceExhausted), never a hang or a crash.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/chat/golden_data.h"

namespace attnserve::chat {
namespace {

using namespace ::attnserve::chat::testing;
using ::testing::HasSubstr;

absl::Status ParseError(const std::string& source) {
  auto t = ChatTemplate::Parse(source);
  return t.ok() ? absl::OkStatus() : t.status();
}

absl::Status RenderError(const std::string& source, const RenderLimits& limits = RenderLimits()) {
  auto out = RenderWith(source, Json::object(), limits);
  return out.ok() ? absl::OkStatus() : out.status();
}

TEST(ChatRefusalTest, UnsupportedTagsNamedWithLine) {
  struct Case {
    const char* source;
    const char* message;
  } cases[] = {
      {"{% extends 'base.jinja' %}", "unsupported tag 'extends' at line 1"},
      {"a\n\n{% include 'x' %}", "unsupported tag 'include' at line 3"},
      {"{% import 'x' as y %}", "unsupported tag 'import' at line 1"},
      {"{% from 'x' import y %}", "unsupported tag 'from' at line 1"},
      {"{% block b %}{% endblock %}", "unsupported tag 'block' at line 1"},
      {"{% call m() %}{% endcall %}", "unsupported tag 'call' at line 1"},
      {"{% raw %}{{ x }}{% endraw %}", "unsupported tag 'raw' at line 1"},
      {"{% with a = 1 %}{% endwith %}", "unsupported tag 'with' at line 1"},
      {"{% do x.append(1) %}", "unsupported tag 'do' at line 1"},
  };
  for (const Case& c : cases) {
    absl::Status s = ParseError(c.source);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.source;
    EXPECT_EQ(s.message(), c.message) << c.source;
  }
}

TEST(ChatRefusalTest, UnsupportedExpressionsNamedWithLine) {
  EXPECT_EQ(ParseError("a\n\n{{ x | wordwrap }}").message(), "unsupported filter 'wordwrap' at line 3");
  EXPECT_EQ(ParseError("{{ x | groupby('a') }}").message(), "unsupported filter 'groupby' at line 1");
  EXPECT_EQ(ParseError("\n{% if x is fizz %}{% endif %}").message(), "unsupported test 'fizz' at line 2");
  EXPECT_EQ(ParseError("{% for x in y recursive %}{% endfor %}").message(),
            "unsupported construct 'recursive' loop at line 1");
  EXPECT_EQ(ParseError("{{ f(*args) }}").message(),
            "unsupported construct: *args/**kwargs in a call at line 1");
  EXPECT_EQ(ParseError("{{ x[1, 2] }}").message(), "unsupported construct: tuple subscript at line 1");
  EXPECT_EQ(ParseError("{{ 99999999999999999999 }}").message(),
            "unsupported integer literal (beyond 64 bits) at line 1");
}

TEST(ChatRefusalTest, SyntaxErrorsCarryTheLine) {
  EXPECT_EQ(ParseError("{% endif %}").message(), "unexpected tag 'endif' at line 1");
  EXPECT_THAT(std::string(ParseError("line1\n{% for x in y %}").message()),
              HasSubstr("the block opened at line 2 needs 'else' or 'endfor'"));
  EXPECT_EQ(ParseError("{{ 'unterminated }}").message(), "unterminated string literal at line 1");
  EXPECT_EQ(ParseError("{{ 'a' }").message(), "unexpected '}' at line 1");
  EXPECT_THAT(std::string(ParseError("\n\n{% if %}").message()), HasSubstr("at line 3"));
  EXPECT_THAT(std::string(ParseError("{{ 1 + }}").message()), HasSubstr("syntax error"));
  EXPECT_THAT(std::string(ParseError("{% break %}").message()), HasSubstr("'break' outside of a loop"));
}

TEST(ChatRuntimeErrorTest, MessagesCarryTheLine) {
  EXPECT_EQ(RenderError("x\n{{ 'a' + 1 }}").message(), "can only concatenate str (not \"int\") to str at line 2");
  EXPECT_EQ(RenderError("{{ 1 + 'a' }}").message(), "unsupported operand type(s) for +: 'int' and 'str' at line 1");
  EXPECT_EQ(RenderError("\n\n{{ nothing.attr }}").message(), "'nothing' is undefined at line 3");
  EXPECT_EQ(RenderError("{{ 1 // 0 }}").message(), "integer division or modulo by zero at line 1");
  EXPECT_EQ(RenderError("{% for a, b in [[1, 2, 3]] %}{% endfor %}").message(),
            "cannot unpack 3 values into 2 loop variables at line 1");
  EXPECT_EQ(RenderError("{% set d = {} %}{% set d.a = 1 %}").message(),
            "cannot assign attribute on non-namespace object 'd' at line 1");
  EXPECT_EQ(RenderError("{{ 9223372036854775807 + 1 }}").message(),
            "unsupported: integer result beyond 64 bits at line 1");
  EXPECT_EQ(RenderError("{{ '%s' % 1 }}").message(),
            "unsupported construct: printf-style '%' string formatting at line 1");
  // The immutable sandbox: lists and dicts cannot be changed.
  absl::Status unsafe = RenderError("{% set x = [] %}{{ x.append(1) }}");
  EXPECT_EQ(unsafe.message(), "access to attribute 'append' of 'list' object is unsafe. at line 1");
  // The innermost statement names its line; the internal payload does not leak out.
  absl::Status nested = RenderError("{% for m in [1] %}\n  {% if true %}\n{{ m.x.y }}{% endif %}{% endfor %}");
  EXPECT_EQ(nested.message(), "'int object' has no attribute 'x' at line 3");
  EXPECT_FALSE(nested.GetPayload("attnserve.chat/line").has_value());
}

TEST(ChatRuntimeErrorTest, RaiseExceptionMessageIsVerbatim) {
  auto out = RenderWith("\n\n{% if true %}{{ raise_exception('Conversation roles must alternate!') }}{% endif %}",
                        Json::object());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(out.status().message(), "Conversation roles must alternate!");
  EXPECT_TRUE(out.status().GetPayload(kRaiseExceptionPayload).has_value());
  // Inside a macro too.
  out = RenderWith("{% macro m() %}{{ raise_exception('in macro') }}{% endmacro %}{{ m() }}", Json::object());
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "in macro");
}

TEST(ChatLimitsTest, HugeLoopsHitTheStepLimit) {
  absl::Status s = RenderError(
      "{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  RenderLimits small;
  small.max_steps = 1000;
  s = RenderError("{% for i in range(2000) %}{% endfor %}", small);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("step limit (1000"));
  // jinja's sandbox limit on range() itself.
  s = RenderError("{{ range(1000000) | length }}");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
}

TEST(ChatLimitsTest, DeepMacroRecursionIsBounded) {
  absl::Status s = RenderError("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("maximum macro call depth (100) exceeded in 'f'"));
  // Mutual recursion too.
  s = RenderError("{% macro a(n) %}{{ b(n) }}{% endmacro %}{% macro b(n) %}{{ a(n) }}{% endmacro %}{{ a(0) }}");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
}

TEST(ChatLimitsTest, OutputSizeIsBounded) {
  absl::Status s = RenderError(
      "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_EQ(RenderError("{{ 'ab' * 9223372036854775807 }}").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(RenderError("{{ ([1] * 100000000) | length }}").code(), absl::StatusCode::kResourceExhausted);
  RenderLimits small;
  small.max_output_bytes = 1000;
  s = RenderError("{% for i in range(200) %}0123456789{% endfor %}", small);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("limit of 1000 bytes"));
}

TEST(ChatLimitsTest, DeepNestingIsRefusedNotACrash) {
  const int n = 100000;
  EXPECT_EQ(ParseError("{{ " + std::string(n, '(') + "1" + std::string(n, ')') + " }}").code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ParseError("{{ " + std::string(n, '[') + std::string(n, ']') + " }}").code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ParseError("{{ " + std::string(n, '-') + "1 }}").code(), absl::StatusCode::kResourceExhausted);
  std::string nots;
  for (int i = 0; i < n; ++i) nots += "not ";
  EXPECT_EQ(ParseError("{{ " + nots + "x }}").code(), absl::StatusCode::kResourceExhausted);
  std::string ifs, endifs;
  for (int i = 0; i < 10000; ++i) {
    ifs += "{% if true %}";
    endifs += "{% endif %}";
  }
  EXPECT_EQ(ParseError(ifs + "x" + endifs).code(), absl::StatusCode::kResourceExhausted);
  // Long operator, attribute and filter chains (no parser recursion, but a deep AST).
  std::string sum = "1", attrs = "x", filters = "'a'";
  for (int i = 0; i < n; ++i) {
    sum += " + 1";
    attrs += ".a";
    filters += " | trim";
  }
  absl::Status s = ParseError("{{ " + sum + " }}");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("expression nested deeper than 300"));
  EXPECT_EQ(ParseError("{{ " + attrs + " }}").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ParseError("{{ " + filters + " }}").code(), absl::StatusCode::kResourceExhausted);
  // What real templates do stays well inside the bounds.
  std::string ok_sum = "1";
  for (int i = 0; i < 200; ++i) ok_sum += " + 1";
  EXPECT_EQ(*RenderWith("{{ " + ok_sum + " }}", Json::object()), "201");
}

TEST(ChatLimitsTest, NamespaceValuesStayShallowAndAcyclic) {
  absl::Status s = RenderError(
      "{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("nested deeper than 200"));
  s = RenderError("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("unsupported construct: a namespace stored inside a namespace"));
  EXPECT_EQ(RenderError("{% set ns = namespace() %}{% set ns.l = [{'a': ns}] %}").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RenderError("{% set a = namespace() %}{% set b = namespace(p=a) %}").code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace attnserve::chat
