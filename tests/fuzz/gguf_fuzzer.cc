// libFuzzer driver for the gguf target (fuzz_targets.h); built with -DATTNSERVE_FUZZ=ON.
#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return attnserve::fuzz::FuzzGguf(data, size);
}
