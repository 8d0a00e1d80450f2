// Golden tests: every real chat template in tests/golden/chat_templates/*.jinja, rendered over
// the conversations of golden.json, must produce exactly the bytes Python jinja2 produced with
// transformers' settings (tools/make_chat_template_golden.py) — or fail where jinja2 failed, with
// raise_exception's message verbatim.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/chat/chat_template.h"
#include "tests/chat/golden_data.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::chat {
namespace {

namespace fs = std::filesystem;
using namespace ::attnserve::chat::testing;

std::vector<std::string> TemplateNames() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kGoldenDir)) {
    if (entry.path().extension() == ".jinja") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class ChatGoldenTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { UseUtc(); }
};

TEST_P(ChatGoldenTest, RendersLikeJinja2) {
  auto tmpl = ChatTemplate::Parse(ReadText(kGoldenDir / (GetParam() + ".jinja")));
  ASSERT_TRUE(tmpl.ok()) << tmpl.status();
  int cases = 0;
  for (const Json& c : Golden()["cases"]) {
    if (c["template"] != GetParam()) continue;
    ++cases;
    const Json& conv = Golden()["conversations"][c["conversation"].get<std::string>()];
    ChatRenderInput in;
    in.messages = conv["messages"];
    in.tools = conv.contains("tools") ? conv["tools"] : Json();
    in.extra_context = conv.contains("extra") ? conv["extra"] : Json();
    in.add_generation_prompt = c["add_generation_prompt"];
    in.bos_token = c["bos_token"];
    in.eos_token = c["eos_token"];
    in.now_unix_seconds = Golden()["fixed_unix_utc"].get<int64_t>();
    const std::string label = c["conversation"].get<std::string>() +
                              (in.add_generation_prompt ? "" : " (add_generation_prompt=false)");
    auto out = tmpl->Render(in);
    if (c.contains("expected")) {
      const std::string want = c["expected"];
      if (!out.ok()) {
        ADD_FAILURE() << label << ": " << out.status();
      } else if (*out != want) {
        ADD_FAILURE() << label << ": differs from jinja2 " << FirstDifference(want, *out);
      }
    } else if (c["error_type"] == "raise") {
      ASSERT_FALSE(out.ok()) << label << ": rendered, jinja2 raised " << c["error"];
      EXPECT_EQ(out.status().message(), c["error"].get<std::string>()) << label;
      EXPECT_TRUE(out.status().GetPayload(kRaiseExceptionPayload).has_value()) << label;
    } else {
      EXPECT_FALSE(out.ok()) << label << ": rendered, jinja2 failed with " << c["error"];
    }
  }
  EXPECT_GT(cases, 0) << "no golden cases for " << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Templates, ChatGoldenTest, ::testing::ValuesIn(TemplateNames()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n) if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace attnserve::chat
