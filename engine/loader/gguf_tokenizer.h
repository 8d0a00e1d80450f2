// TokenizerFromGguf: the tokenizer a GGUF file describes in its tokenizer.ggml.* metadata
// (llama.cpp's keys: model "gpt2" byte-level BPE with its pre-tokenizer name, or "llama"
// SentencePiece BPE with scores; tokens, token types, merges, special ids, add_bos/eos), built
// as the tokenizer transformers makes of the same file, so ids equal HF's. Immutable result.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "engine/loader/gguf_file.h"
#include "engine/tokenizer/tokenizer.h"

namespace attnserve {

// INVALID_ARGUMENT naming the file and the metadata key on a missing, wrong-typed or
// inconsistent field (unknown model or pre-tokenizer, merges missing, token_type length, special
// ids outside the vocabulary).
absl::StatusOr<std::unique_ptr<Tokenizer>> TokenizerFromGguf(const GgufFile& file);

}  // namespace attnserve
