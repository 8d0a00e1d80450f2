// GgufFile: a well-formed file written here byte by byte reads back (metadata of every kind,
// F32 / BF16 / Q8_0 tensors, alignment); every truncation of it and each malformed field is an
// INVALID_ARGUMENT naming the file and the field — never a crash or a read past the mapping
// (ASan builds check the latter). A file written by the gguf PyPI package reads back with its
// block tensors byte-equal to attnserve's quantizer (tests/golden/gguf, tools/make_gguf_test_file.py).
#include "engine/loader/gguf_file.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "kernels/dtype_convert.h"

namespace attnserve {
namespace {

// Little-endian GGUF bytes.
class Writer {
 public:
  template <class T>
  Writer& Put(T v) {
    const auto* p = reinterpret_cast<const unsigned char*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
    return *this;
  }
  Writer& Str(const std::string& s) {
    Put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  void PadTo(size_t alignment) {
    while (bytes.size() % alignment) bytes.push_back(0);
  }
  std::vector<unsigned char> bytes;
};

struct Built {
  std::vector<unsigned char> bytes;
  size_t tensor_info_start = 0;  // byte offset of the first tensor info
};

// version 3; metadata: general.architecture = "llama", llama.block_count (u32) = 2,
// rope (f32) = 10000, add_bos (bool) = true, tokens = ["a", "bc"], ids (i32 array) = [-1, 7];
// tensors: "w" F32 dims [4, 2], "q" Q8_0 dims [32, 2], "b" BF16 dims [8] — data 32-aligned.
Built BuildFile() {
  Writer w;
  w.Put<uint32_t>(0x46554747).Put<uint32_t>(3).Put<uint64_t>(3).Put<uint64_t>(6);
  w.Str("general.architecture").Put<uint32_t>(8).Str("llama");
  w.Str("llama.block_count").Put<uint32_t>(4).Put<uint32_t>(2);
  w.Str("llama.rope.freq_base").Put<uint32_t>(6).Put<float>(10000.0f);
  w.Str("tokenizer.ggml.add_bos_token").Put<uint32_t>(7).Put<uint8_t>(1);
  w.Str("tokenizer.ggml.tokens").Put<uint32_t>(9).Put<uint32_t>(8).Put<uint64_t>(2).Str("a").Str("bc");
  w.Str("ids").Put<uint32_t>(9).Put<uint32_t>(5).Put<uint64_t>(2).Put<int32_t>(-1).Put<int32_t>(7);
  Built b;
  b.tensor_info_start = w.bytes.size();
  w.Str("w").Put<uint32_t>(2).Put<uint64_t>(4).Put<uint64_t>(2).Put<uint32_t>(0).Put<uint64_t>(0);
  w.Str("q").Put<uint32_t>(2).Put<uint64_t>(32).Put<uint64_t>(2).Put<uint32_t>(8).Put<uint64_t>(32);
  w.Str("b").Put<uint32_t>(1).Put<uint64_t>(8).Put<uint32_t>(30).Put<uint64_t>(128);
  w.PadTo(32);
  for (int i = 0; i < 8; ++i) w.Put<float>(0.5f * i);  // "w": 32 bytes
  std::vector<float> q(64);
  for (int i = 0; i < 64; ++i) q[i] = 0.01f * (i - 30);
  std::vector<unsigned char> q8(DTypeRowBytes(DType::kQ8_0, 64));
  ConvertFromF32(DType::kQ8_0, q.data(), q8.data(), 64);
  w.bytes.insert(w.bytes.end(), q8.begin(), q8.end());  // "q": 68 bytes at 32
  w.PadTo(32);                                           // -> 128
  for (int i = 0; i < 8; ++i) w.Put<uint16_t>(F32ToBF16Bits(float(i) - 3.0f));  // "b" at 128
  b.bytes = w.bytes;
  return b;
}

class GgufFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::vector<unsigned char>& bytes) {
    const std::string path = (std::filesystem::temp_directory_path() /
                              ("gguf_test_" + std::to_string(::getpid()) + "_" + std::to_string(n_++) + ".gguf")).string();
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    paths_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const std::string& p : paths_) std::filesystem::remove(p);
  }
  // Open must fail with INVALID_ARGUMENT whose message has the path and `fragment`.
  void ExpectRefused(const std::vector<unsigned char>& bytes, const std::string& fragment) {
    const std::string path = Write(bytes);
    auto f = GgufFile::Open(path);
    ASSERT_FALSE(f.ok()) << "accepted; wanted: " << fragment;
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument) << f.status();
    EXPECT_NE(f.status().message().find(path), std::string::npos) << f.status();
    EXPECT_NE(f.status().message().find(fragment), std::string::npos) << f.status();
  }
  int n_ = 0;
  std::vector<std::string> paths_;
};

TEST_F(GgufFileTest, ReadsMetadataAndTensors) {
  auto f = GgufFile::Open(Write(BuildFile().bytes));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->version(), 3u);
  EXPECT_EQ((*f)->Find("general.architecture")->value, "llama");
  EXPECT_EQ((*f)->Find("llama.block_count")->type, GgufType::kUint32);
  EXPECT_EQ((*f)->Find("llama.block_count")->value, 2);
  EXPECT_EQ((*f)->Find("llama.rope.freq_base")->value.get<float>(), 10000.0f);
  EXPECT_EQ((*f)->Find("tokenizer.ggml.add_bos_token")->value, true);
  EXPECT_EQ((*f)->Find("tokenizer.ggml.tokens")->array_type, GgufType::kString);
  EXPECT_EQ((*f)->Find("tokenizer.ggml.tokens")->value, nlohmann::json::array({"a", "bc"}));
  EXPECT_EQ((*f)->Find("ids")->value, nlohmann::json::array({-1, 7}));
  ASSERT_EQ((*f)->tensors().size(), 3u);
  const GgufTensor* w = (*f)->FindTensor("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->dims, (std::vector<int64_t>{4, 2}));
  EXPECT_STREQ(w->type->name, "F32");
  float w5;
  std::memcpy(&w5, w->data + 5 * 4, 4);
  EXPECT_EQ(w5, 2.5f);
  const GgufTensor* q = (*f)->FindTensor("q");
  EXPECT_EQ(q->type->dtype, DType::kQ8_0);
  EXPECT_EQ(q->nbytes, 68u);
  std::vector<float> back(64);
  ConvertToF32(DType::kQ8_0, q->data, back.data(), 64);
  EXPECT_NEAR(back[63], 0.33f, 0.002f);
  const GgufTensor* b = (*f)->FindTensor("b");
  EXPECT_EQ(b->type->dtype, DType::kBF16);
  std::vector<float> bf(8);
  ConvertToF32(DType::kBF16, b->data, bf.data(), 8);
  EXPECT_EQ(bf[7], 4.0f);
  EXPECT_EQ((*f)->FindTensor("missing"), nullptr);
}

TEST_F(GgufFileTest, EveryTruncationIsRefusedCleanly) {
  const std::vector<unsigned char> full = BuildFile().bytes;
  for (size_t n = 0; n < full.size(); ++n) {
    auto f = GgufFile::Open(Write({full.begin(), full.begin() + n}));
    ASSERT_FALSE(f.ok()) << "accepted a file cut at byte " << n << " of " << full.size();
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument) << n << ": " << f.status();
  }
}

// Overwrites bytes at `at` with the little-endian value.
template <class T>
std::vector<unsigned char> Patched(std::vector<unsigned char> bytes, size_t at, T v) {
  std::memcpy(bytes.data() + at, &v, sizeof(T));
  return bytes;
}

TEST_F(GgufFileTest, MalformedHeadersAreNamed) {
  const Built b = BuildFile();
  ExpectRefused(Patched<uint32_t>(b.bytes, 0, 0x46554746), "not a GGUF file");
  ExpectRefused(Patched<uint32_t>(b.bytes, 4, 1), "version 1");
  ExpectRefused(Patched<uint32_t>(b.bytes, 4, 7), "unsupported GGUF version 7");
  ExpectRefused(Patched<uint64_t>(b.bytes, 8, uint64_t{1} << 40), "implausible counts");
  ExpectRefused(Patched<uint64_t>(b.bytes, 24, uint64_t{1} << 50), "string length");  // first key length
  // First value type (after key "general.architecture": 8 + 8 + 20 bytes).
  ExpectRefused(Patched<uint32_t>(b.bytes, 24 + 8 + 20, 13), "unknown value type 13");
}

TEST_F(GgufFileTest, MalformedTensorInfosAreNamed) {
  const Built b = BuildFile();
  const size_t w_info = b.tensor_info_start;  // "w": name (8 + 1), n_dims, dims[2], type, offset
  const size_t n_dims = w_info + 9, dims = n_dims + 4, type = dims + 16, offset = type + 4;
  ExpectRefused(Patched<uint32_t>(b.bytes, n_dims, 5), "n_dims 5");
  ExpectRefused(Patched<uint64_t>(b.bytes, dims, 0), "dimension 0 = 0");
  ExpectRefused(Patched<uint64_t>(b.bytes, dims + 8, uint64_t{1} << 62), "too large");
  ExpectRefused(Patched<uint32_t>(b.bytes, type, 99), "unknown ggml type 99");
  ExpectRefused(Patched<uint32_t>(b.bytes, type, 8), "Q8_0 needs rows of whole 32-element blocks");
  ExpectRefused(Patched<uint64_t>(b.bytes, offset, 4), "not a multiple of the alignment");
  ExpectRefused(Patched<uint64_t>(b.bytes, offset, uint64_t{1} << 60), "runs past the end of the file");
  ExpectRefused(Patched<uint64_t>(b.bytes, offset, 128), "tensor 'w'");  // 32 bytes at 128 + 16 > file
  // Second tensor renamed to the first's name ("q" -> "w").
  std::vector<unsigned char> dup = b.bytes;
  dup[w_info + 8 + 1 + 4 + 16 + 4 + 8 + 8] = 'w';
  ExpectRefused(dup, "duplicate tensor name 'w'");
}

TEST_F(GgufFileTest, MalformedMetadataIsNamed) {
  Writer w;
  w.Put<uint32_t>(0x46554747).Put<uint32_t>(3).Put<uint64_t>(0).Put<uint64_t>(2);
  w.Str("k").Put<uint32_t>(4).Put<uint32_t>(1);
  w.Str("k").Put<uint32_t>(4).Put<uint32_t>(2);
  ExpectRefused(w.bytes, "duplicate metadata key 'k'");

  Writer a;
  a.Put<uint32_t>(0x46554747).Put<uint32_t>(3).Put<uint64_t>(0).Put<uint64_t>(1);
  a.Str("arr").Put<uint32_t>(9).Put<uint32_t>(4).Put<uint64_t>(uint64_t{1} << 23);
  ExpectRefused(a.bytes, "array of 8388608 elements exceeds");

  Writer n;
  n.Put<uint32_t>(0x46554747).Put<uint32_t>(3).Put<uint64_t>(0).Put<uint64_t>(1);
  n.Str("nested").Put<uint32_t>(9).Put<uint32_t>(9).Put<uint64_t>(1);
  ExpectRefused(n.bytes, "unsupported array element type 9");

  Writer al;
  al.Put<uint32_t>(0x46554747).Put<uint32_t>(2).Put<uint64_t>(0).Put<uint64_t>(1);
  al.Str("general.alignment").Put<uint32_t>(4).Put<uint32_t>(24);
  ExpectRefused(al.bytes, "general.alignment must be a power-of-two");

  Writer bo;
  bo.Put<uint32_t>(0x46554747).Put<uint32_t>(3).Put<uint64_t>(0).Put<uint64_t>(1);
  bo.Str("flag").Put<uint32_t>(7).Put<uint8_t>(2);
  ExpectRefused(bo.bytes, "bool value 2");
}

TEST_F(GgufFileTest, VersionTwoAndEmptyFilesRead) {
  Writer w;
  w.Put<uint32_t>(0x46554747).Put<uint32_t>(2).Put<uint64_t>(0).Put<uint64_t>(1);
  w.Str("general.name").Put<uint32_t>(8).Str("x");
  auto f = GgufFile::Open(Write(w.bytes));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->version(), 2u);
  EXPECT_TRUE((*f)->tensors().empty());
  ExpectRefused({}, "truncated at byte 0");
}

// The gguf package's writer (tools/make_gguf_test_file.py): metadata, dims in GGUF order, and
// block tensors byte-equal to attnserve's quantizer on the same f32 values (ggml's layout and
// rounding), F32 / F16 values exact.
TEST_F(GgufFileTest, ReadsAFileWrittenByGgufPy) {
  auto f = GgufFile::Open(std::string(ATTNSERVE_GOLDEN_DIR) + "/gguf/tiny.gguf");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->version(), 3u);
  EXPECT_EQ((*f)->Find("general.architecture")->value, "llama");
  EXPECT_EQ((*f)->Find("llama.block_count")->value, 2);
  EXPECT_EQ((*f)->Find("tokenizer.ggml.tokens")->value, nlohmann::json::array({"<s>", "a", "bc"}));
  EXPECT_EQ((*f)->Find("tokenizer.ggml.scores")->value[2].get<float>(), -2.25f);
  auto source = [](int64_t rows, int64_t cols) {
    std::vector<float> x(static_cast<size_t>(rows * cols));
    for (size_t i = 0; i < x.size(); ++i) x[i] = float(int64_t((i * 37) % 101) - 50) / 64.0f;
    return x;
  };
  for (const char* name : {"f32", "f16", "q8_0", "q4_0"}) {
    const GgufTensor* t = (*f)->FindTensor(name);
    ASSERT_NE(t, nullptr) << name;
    ASSERT_TRUE(t->type->dtype.has_value()) << name;
    const int64_t rows = t->dims[1], cols = t->dims[0];
    EXPECT_EQ(rows, std::string(name)[0] == 'q' ? 3 : 2) << name;
    EXPECT_EQ(cols, 64) << name;
    const std::vector<float> x = source(rows, cols);
    std::vector<unsigned char> ours(DTypeRowBytes(*t->type->dtype, cols) * rows);
    ConvertFromF32(*t->type->dtype, x.data(), ours.data(), x.size());
    ASSERT_EQ(t->nbytes, ours.size()) << name;
    EXPECT_EQ(std::memcmp(t->data, ours.data(), ours.size()), 0) << name << ": bytes differ from attnserve's encoding";
  }
}

}  // namespace
}  // namespace attnserve

namespace attnserve {
namespace {

// attnserve's quantizers against gguf-py's (the numpy port of ggml's reference quantizer, an
// independent implementation): every matrix of the f32 golden GGUF file quantized here is
// byte-equal to the same matrix in the file gguf-py quantized (tools/make_gguf_golden.py).
TEST(GgufQuantizerTest, BlocksEqualGgufPyOnEveryMatrixOfTheGoldenModel) {
  const std::string dir = std::string(ATTNSERVE_GOLDEN_DIR) + "/gguf_models/";
  auto f32 = GgufFile::Open(dir + "llama_gqa_f32.gguf");
  ASSERT_TRUE(f32.ok()) << f32.status();
  for (const char* format : {"q8_0", "q4_0", "q4_1", "q5_0", "q5_1"}) {
    auto quantized = GgufFile::Open(dir + "llama_gqa_" + format + ".gguf");
    ASSERT_TRUE(quantized.ok()) << quantized.status();
    int matrices = 0;
    for (const GgufTensor& t : (*f32)->tensors()) {
      if (t.dims.size() != 2) continue;
      const GgufTensor* q = (*quantized)->FindTensor(t.name);
      ASSERT_NE(q, nullptr) << t.name;
      ASSERT_TRUE(q->type->dtype.has_value()) << q->type->name;
      EXPECT_STREQ(DTypeName(*q->type->dtype), format);
      std::vector<float> values(static_cast<size_t>(t.numel()));
      std::memcpy(values.data(), t.data, t.nbytes);
      std::vector<unsigned char> ours(q->nbytes);
      ConvertFromF32(*q->type->dtype, values.data(), ours.data(), values.size());
      EXPECT_EQ(0, std::memcmp(ours.data(), q->data, q->nbytes)) << format << " " << t.name;
      ++matrices;
    }
    EXPECT_GE(matrices, 15) << format;
  }
}

}  // namespace
}  // namespace attnserve
