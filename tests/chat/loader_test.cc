// LoadModelChatTemplate on temporary model directories: tokenizer_config.json "chat_template" as
// a string or as a list of named templates ("default" used), a chat_template.jinja file, bos/eos
// as strings or AddedToken objects, no template → nullopt, and errors naming file and field.
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <string>

#include "engine/chat/chat_template.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnserve::chat {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class ModelChatTemplateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("attnserve_chat_loader_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  absl::StatusOr<std::optional<ModelChatTemplate>> Load() { return LoadModelChatTemplate(dir_.string()); }
  std::string Render(const ModelChatTemplate& m) {
    ChatRenderInput in;
    in.messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "hi"}])");
    in.bos_token = m.bos_token;
    in.eos_token = m.eos_token;
    auto out = m.tmpl.Render(in);
    return out.ok() ? *out : out.status().ToString();
  }
  fs::path dir_;
};

TEST_F(ModelChatTemplateTest, StringTemplateAndPlainTokens) {
  Write("tokenizer_config.json", R"({"bos_token": "<s>", "eos_token": "</s>",
      "chat_template": "{{ bos_token }}{% for m in messages %}[{{ m.content }}]{% endfor %}{{ eos_token }}"})");
  auto m = Load();
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(m->has_value());
  EXPECT_EQ((*m)->bos_token, "<s>");
  EXPECT_EQ((*m)->eos_token, "</s>");
  EXPECT_EQ(Render(**m), "<s>[hi]</s>");
}

TEST_F(ModelChatTemplateTest, ListOfNamedTemplatesUsesDefault) {
  Write("tokenizer_config.json", R"({"chat_template": [
      {"name": "tool_use", "template": "TOOLS"},
      {"name": "default", "template": "DEFAULT {{ messages | length }}"},
      {"name": "rag", "template": "RAG"}]})");
  auto m = Load();
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(m->has_value());
  EXPECT_EQ(Render(**m), "DEFAULT 1");
  EXPECT_EQ((*m)->bos_token, "");
}

TEST_F(ModelChatTemplateTest, ListWithoutDefaultIsAnError) {
  Write("tokenizer_config.json", R"({"chat_template": [{"name": "tool_use", "template": "T"}]})");
  auto m = Load();
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("tokenizer_config.json: field 'chat_template'"));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("no template named \"default\""));
  Write("tokenizer_config.json", R"({"chat_template": [{"name": "default"}]})");
  m = Load();
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("field 'chat_template'"));
}

TEST_F(ModelChatTemplateTest, ChatTemplateJinjaFile) {
  Write("tokenizer_config.json", R"({"eos_token": "<|im_end|>"})");
  Write("chat_template.jinja", "{% for m in messages %}<{{ m.role }}>{% endfor %}{{ eos_token }}\n");
  auto m = Load();
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(m->has_value());
  EXPECT_EQ(Render(**m), "<user><|im_end|>");  // the file's final newline is dropped, as jinja2 does
  // The file takes precedence over a template in the config, as in newer transformers.
  Write("tokenizer_config.json", R"({"chat_template": "CONFIG"})");
  m = Load();
  ASSERT_TRUE(m.ok() && m->has_value()) << m.status();
  EXPECT_EQ(Render(**m), "<user>");
  // A file alone, without tokenizer_config.json.
  fs::remove(dir_ / "tokenizer_config.json");
  m = Load();
  ASSERT_TRUE(m.ok() && m->has_value()) << m.status();
  EXPECT_EQ(Render(**m), "<user>");
}

TEST_F(ModelChatTemplateTest, AddedTokenObjects) {
  Write("tokenizer_config.json", R"({
      "bos_token": {"__type": "AddedToken", "content": "<|begin_of_text|>", "lstrip": false,
                    "normalized": false, "rstrip": false, "single_word": false},
      "eos_token": {"content": "<|eot_id|>"}, "chat_template": "{{ bos_token }}|{{ eos_token }}"})");
  auto m = Load();
  ASSERT_TRUE(m.ok() && m->has_value()) << m.status();
  EXPECT_EQ((*m)->bos_token, "<|begin_of_text|>");
  EXPECT_EQ((*m)->eos_token, "<|eot_id|>");
  EXPECT_EQ(Render(**m), "<|begin_of_text|>|<|eot_id|>");
}

TEST_F(ModelChatTemplateTest, NoTemplateIsNullopt) {
  auto m = Load();  // empty directory
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE(m->has_value());
  Write("tokenizer_config.json", R"({"bos_token": "<s>", "chat_template": null})");
  m = Load();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_FALSE(m->has_value());
}

TEST_F(ModelChatTemplateTest, ErrorsNameTheFileAndField) {
  Write("tokenizer_config.json", R"({"chat_template": "x", )");
  auto m = Load();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(m.status().message()), HasSubstr((dir_ / "tokenizer_config.json").string()));
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("invalid JSON"));

  Write("tokenizer_config.json", R"({"chat_template": 7})");
  m = Load();
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("tokenizer_config.json: field 'chat_template'"));

  Write("tokenizer_config.json", R"({"chat_template": "x", "eos_token": 5})");
  m = Load();
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("tokenizer_config.json: field 'eos_token'"));

  Write("tokenizer_config.json", R"([1, 2])");
  m = Load();
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("not a JSON object"));
}

TEST_F(ModelChatTemplateTest, UnsupportedTemplateIsRefusedAtLoad) {
  Write("tokenizer_config.json", R"({"chat_template": "line 1\n{% extends 'base' %}"})");
  auto m = Load();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(m.status().message()),
              HasSubstr("tokenizer_config.json: field 'chat_template': unsupported tag 'extends' at line 2"));
  fs::remove(dir_ / "tokenizer_config.json");
  Write("chat_template.jinja", "{{ x | wordwrap }}");
  m = Load();
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(std::string(m.status().message()), HasSubstr("chat_template.jinja: unsupported filter 'wordwrap' at line 1"));
}

}  // namespace
}  // namespace attnserve::chat
