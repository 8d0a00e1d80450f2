// Where the tests find the default chat model, SmolLM2-135M-Instruct Q4_1 GGUF, that
// scripts/fetch_default_model.sh puts in the model cache (scripts/run_tests.sh fetches it before
// building): $ATTNSERVE_SMOLLM2_GGUF when set, else the cache path CMake was configured with
// (ATTNSERVE_SMOLLM2_GGUF_PATH). The file is never committed; tests using it assert that it exists.
#pragma once

#include <cstdlib>
#include <string>

#ifndef ATTNSERVE_SMOLLM2_GGUF_PATH
#error "ATTNSERVE_SMOLLM2_GGUF_PATH must name the default chat model's cache path"
#endif

namespace attnserve::testing {

inline std::string DefaultChatModelPath() {
  const char* env = std::getenv("ATTNSERVE_SMOLLM2_GGUF");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string(ATTNSERVE_SMOLLM2_GGUF_PATH);
}

}  // namespace attnserve::testing
