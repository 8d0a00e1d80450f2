// The embedded default model (models/demo-llama, trained by tools/train_demo_model.py on the KJV
// Bible): the daemon's --model default points at it, it serves with its 256-token context, its
// greedy text reads like English text, and it predicts held-out verses far better than the same
// words shuffled (it learned the language, not just the vocabulary).
#include <algorithm>
#include <cctype>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/str_split.h"
#include "tests/server/daemon_fixture.h"

namespace attnserve::testing {
namespace {

double MeanLogprob(v1::Inference::Stub& stub, const std::string& text) {
  v1::ScoreRequest request;
  request.set_prompt(text);
  v1::ScoreResponse response;
  grpc::ClientContext context;
  const grpc::Status status = stub.Score(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  double sum = 0;
  for (float lp : response.token_logprobs()) sum += lp;
  return response.token_logprobs_size() > 0 ? sum / response.token_logprobs_size() : 0;
}

TEST(DemoModelTest, DefaultModelIsTheTrainedDemoAndWritesText) {
  const ExitResult help = RunToExit({"--help"}, std::chrono::seconds(30));
  EXPECT_NE(help.stderr_text.find("models/demo-llama"), std::string::npos) << "--model default:\n" << help.stderr_text;

  std::string error;
  DaemonProcess process;
  ASSERT_TRUE(process.Start(ATTNSERVE_DEFAULT_MODEL_DIR, {}, std::chrono::seconds(120), &error)) << error;
  auto stub = v1::Inference::NewStub(MakeChannel(process.address()));
  v1::ModelInfo info;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub->GetModelInfo(&context, v1::GetModelInfoRequest(), &info).ok());
  }
  EXPECT_EQ(info.served_model_name(), "demo-llama");
  EXPECT_EQ(info.max_context(), 256u);

  const GenerateResult result = Generate(*stub, GreedyRequest("And the LORD spake unto Moses, saying,", 60));
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  const std::string text = result.AllText();
  ASSERT_GT(text.size(), 100u);
  const auto letters = std::count_if(text.begin(), text.end(), [](unsigned char c) {
    return std::isalpha(c) || c == ' ' || c == ',' || c == '.' || c == ';' || c == ':' || c == '\n' || c == '\'';
  });
  EXPECT_GT(double(letters) / text.size(), 0.97) << text;
  // Common English words, separated by spaces.
  std::vector<std::string> words = absl::StrSplit(text, absl::ByAnyChar(" ,.;:\n"), absl::SkipEmpty());
  int common = 0;
  for (const std::string& w : words) common += (w == "the" || w == "and" || w == "of" || w == "unto" || w == "I");
  EXPECT_GE(common, 5) << text;

  // Held-out verses vs the same words shuffled.
  std::ifstream in(std::string(ATTNSERVE_DEFAULT_MODEL_DIR) + "/heldout.txt");
  std::stringstream all;
  all << in.rdbuf();
  const std::string verse = all.str().substr(0, 600);
  std::vector<std::string> verse_words = absl::StrSplit(verse, ' ', absl::SkipEmpty());
  std::mt19937 gen(1);
  std::shuffle(verse_words.begin(), verse_words.end(), gen);
  std::string shuffled;
  for (const std::string& w : verse_words) shuffled += w + " ";
  const double real = MeanLogprob(*stub, verse), scrambled = MeanLogprob(*stub, shuffled);
  EXPECT_GT(real, scrambled + 1.0) << "held-out " << real << " nats/token vs shuffled " << scrambled;
  EXPECT_GT(real, -3.5);  // perplexity below ~33 on unseen books
}

}  // namespace
}  // namespace attnserve::testing
