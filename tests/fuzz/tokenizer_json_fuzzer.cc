// libFuzzer driver for the tokenizer_json target (fuzz_targets.h); built with -DATTNSERVE_FUZZ=ON.
#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return attnserve::fuzz::FuzzTokenizerJson(data, size);
}
