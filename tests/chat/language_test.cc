// The template language against jinja2, construct by construct: every snippet of golden.json
// (tools/make_chat_template_golden.py: loops and the loop object, scopes, namespace, set blocks,
// macros, operators, literals and escapes, whitespace control, tests, filters, str methods,
// slicing, runtime errors) renders to jinja2's bytes, or fails where jinja2 failed.
#include <cctype>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/chat/golden_data.h"

namespace attnserve::chat {
namespace {

using namespace ::attnserve::chat::testing;

std::vector<std::string> SnippetNames() {
  std::vector<std::string> names;
  for (const Json& s : Golden()["snippets"]) names.push_back(s["name"]);
  return names;
}

const Json& Snippet(const std::string& name) {
  for (const Json& s : Golden()["snippets"]) {
    if (s["name"] == name) return s;
  }
  static const Json kNone;
  return kNone;
}

class LanguageTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { UseUtc(); }
};

TEST_P(LanguageTest, MatchesJinja2) {
  const Json& s = Snippet(GetParam());
  const std::string source = s["template"];
  auto out = RenderWith(source, s["context"]);
  if (s.contains("expected")) {
    ASSERT_TRUE(out.ok()) << Json(source).dump() << "\n  " << out.status();
    const std::string want = s["expected"];
    EXPECT_EQ(*out, want) << Json(source).dump() << "\n" << FirstDifference(want, *out);
  } else if (s["error_type"] == "raise") {
    ASSERT_FALSE(out.ok()) << "rendered " << Json(*out).dump();
    EXPECT_EQ(out.status().message(), s["error"].get<std::string>());
  } else {
    EXPECT_FALSE(out.ok()) << "rendered " << Json(*out).dump() << "; jinja2: " << s["error"];
  }
}

INSTANTIATE_TEST_SUITE_P(Snippets, LanguageTest, ::testing::ValuesIn(SnippetNames()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace attnserve::chat
