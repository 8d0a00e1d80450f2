// The table of fuzz targets by corpus name (fuzz_targets.h), for the replay test.
#include "tests/fuzz/fuzz_targets.h"

namespace attnserve::fuzz {

std::span<const FuzzTarget> AllFuzzTargets() {
  static constexpr FuzzTarget kTargets[] = {
      {"safetensors_header", FuzzSafetensorsHeader},
      {"model_config", FuzzModelConfig},
      {"tokenizer_json", FuzzTokenizerJson},
      {"tokenize", FuzzTokenize},
      {"gguf", FuzzGguf},
      {"chat_template", FuzzChatTemplate},
      {"generate_request", FuzzGenerateRequest},
      {"openai_request", FuzzOpenAiRequest},
  };
  return kTargets;
}

}  // namespace attnserve::fuzz
