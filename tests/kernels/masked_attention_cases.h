// The masked PagedAttention cases shared by the kernel tests (paged_attention_test.cc,
// alibi_test.cc): one MaskCase per shape and MaskKind, the mask it describes, paged inputs
// (shuffled block table; optionally every key no query can see poisoned with NaN), and the two
// checks run on every case, with and without ALiBi: CPU vs reference, chunk vs prefill tail.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <ostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/alibi.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/ref/reference_backend.h"

namespace attnserve::testing {

struct MaskCase {
  MaskKind kind;
  int variant;  // a second parameter set of the kind (see MakeMask)
  int64_t num_q, num_kv, num_heads, num_kv_heads, head_dim, block_size;
};

// The mask of a case; `storage` keeps what it points to (global positions, selected blocks).
inline AttentionMask MakeMask(const MaskCase& c, std::vector<int32_t>* storage) {
  AttentionMask m;
  m.kind = c.kind;
  switch (c.kind) {
    case MaskKind::kCausal:
      break;
    case MaskKind::kSlidingWindow:
      m.window = c.variant == 0 ? 40 : 1;
      break;
    case MaskKind::kSinks:
      m.sink_tokens = 4;
      m.window = 36;
      break;
    case MaskKind::kSegments:
      m.segment_length = 48;
      m.memory_segments = c.variant == 0 ? 1 : 0;
      break;
    case MaskKind::kLongformer: {
      // Global positions near the start, in the middle, and at query positions of every shape.
      const int64_t n = c.num_kv;
      for (int64_t g : {int64_t{0}, int64_t{1}, int64_t{2}, int64_t{17}, int64_t{100}, int64_t{101},
                        n / 2, n - c.num_q, n - c.num_q + 3, n - 1 - c.variant})
        if (g >= 0 && g < n) storage->push_back(static_cast<int32_t>(g));
      std::sort(storage->begin(), storage->end());
      storage->erase(std::unique(storage->begin(), storage->end()), storage->end());
      m.window = 24;
      m.global_positions = storage->data();
      m.num_global = int64_t(storage->size());
      break;
    }
    case MaskKind::kBigBird:
      m.block = c.variant == 0 ? 16 : 5;  // 5: query tiles are cut at every block boundary
      m.window_blocks = 2;
      m.global_blocks = 1;
      m.random_blocks = 2;
      m.seed = 99;
      break;
    case MaskKind::kBlockList: {
      // Hand-made lists: -1 slots, duplicates, blocks inside the window and past the query.
      m.window = 16;
      m.select_block = 16;
      m.num_selected = 5;
      std::mt19937 gen(5);
      for (int64_t i = 0; i < c.num_q; ++i) {
        const int64_t last_block = (c.num_kv - c.num_q + i) / m.select_block;
        std::uniform_int_distribution<int64_t> pick(0, last_block + 1);
        for (int64_t h = 0; h < c.num_heads; ++h) {
          for (int64_t j = 0; j < m.num_selected; ++j) {
            const int64_t b = gen() % 5 == 0 ? -1 : (j == 4 ? storage->back() : pick(gen));
            storage->push_back(static_cast<int32_t>(b));
          }
        }
      }
      m.selected_blocks = storage->data();
      break;
    }
  }
  return m;
}

// Pools and a shuffled block table for a case. With `poison`, blocks no query can reach are -1 in
// the table (block -1 is a NaN guard block in front of the pool) and every other row no query
// can see (unused blocks, keys past num_kv, invisible keys) holds NaN: reading any of them shows.
struct PagedInputs {
  std::vector<float> k_storage, v_storage, q;  // pools with a guard block in front; queries
  std::vector<int32_t> table;
  int64_t kv_dim = 0, guard_floats = 0, block_size = 0;
  PagedKvView view() const {
    return {k_storage.data() + guard_floats, v_storage.data() + guard_floats, table.data(),
            block_size};
  }
};

inline PagedInputs MakeInputs(const MaskCase& c, const AttentionMask& mask, bool poison) {
  PagedInputs in;
  in.block_size = c.block_size;
  in.kv_dim = c.num_kv_heads * c.head_dim;
  const int64_t blocks = (c.num_kv + c.block_size - 1) / c.block_size, pool_blocks = 2 * blocks + 3;
  in.guard_floats = c.block_size * in.kv_dim;
  in.table.resize(pool_blocks);
  std::iota(in.table.begin(), in.table.end(), 0);
  std::shuffle(in.table.begin(), in.table.end(), std::mt19937(11));
  in.table.resize(blocks);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const int64_t floats = in.guard_floats + pool_blocks * c.block_size * in.kv_dim;
  in.k_storage.assign(floats, poison ? nan : 0.0f);
  in.v_storage.assign(floats, poison ? nan : 0.0f);
  std::vector<char> seen(c.num_kv, !poison);
  if (poison) {
    for (int64_t i = 0; i < c.num_q; ++i)
      for (int64_t h = 0; h < c.num_heads; ++h)
        for (int64_t t = 0; t <= c.num_kv - c.num_q + i; ++t)
          seen[t] = seen[t] || Visible(mask, i, h, c.num_heads, c.num_kv - c.num_q + i, t);
  }
  const std::vector<float> k = RandomVector(c.num_kv * in.kv_dim, 21);
  const std::vector<float> v = RandomVector(c.num_kv * in.kv_dim, 22);
  for (int64_t t = 0; t < c.num_kv; ++t) {
    if (!seen[t]) continue;
    const int64_t row = in.table[t / c.block_size] * c.block_size + t % c.block_size;
    std::copy_n(&k[t * in.kv_dim], in.kv_dim, &in.k_storage[in.guard_floats + row * in.kv_dim]);
    std::copy_n(&v[t * in.kv_dim], in.kv_dim, &in.v_storage[in.guard_floats + row * in.kv_dim]);
  }
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t end = std::min(c.num_kv, (b + 1) * c.block_size);
    if (std::none_of(seen.begin() + b * c.block_size, seen.begin() + end, [](char x) { return x; }))
      in.table[b] = -1;
  }
  in.q = RandomVector(c.num_q * c.num_heads * c.head_dim, 23, -3, 3);
  return in;
}

// out f32[num_q, num_heads, head_dim] of PagedAttention on the case (scale 1/sqrt(head_dim)), with
// ALiBi when alibi_slopes (f32[num_heads]) is set.
inline std::vector<float> RunPaged(Backend& backend, const MaskCase& c, const PagedInputs& in,
                                   const AttentionMask& mask, const float* alibi_slopes = nullptr) {
  AttentionShape shape{c.num_q, c.num_kv, c.num_heads, c.num_kv_heads, c.head_dim, in.kv_dim,
                       1.0f / std::sqrt(float(c.head_dim))};
  shape.alibi_slopes = alibi_slopes;
  std::vector<float> out(in.q.size(), -7.0f);
  backend.PagedAttention(in.q.data(), in.view(), shape, mask, out.data());
  return out;
}

// The CPU backend against the reference backend on the case, poisoned inputs (every key no query
// can see is NaN, unreachable blocks -1), for 1..4 threads; with `alibi`, the BLOOM slopes of
// num_heads (kernels/alibi.h). Outputs are convex combinations of V rows in [-1, 1]: an absolute
// bound fits (kMaskedAttentionTol). Split-KV merges fixed key segments in a fixed order: bitwise
// the same for any thread count.
constexpr double kMaskedAttentionTol = 2e-5;
inline void ExpectCpuMatchesReference(const MaskCase& c, bool alibi) {
  std::vector<int32_t> storage;
  const AttentionMask mask = MakeMask(c, &storage);
  const PagedInputs in = MakeInputs(c, mask, /*poison=*/true);
  const std::vector<float> slopes = AlibiSlopes(c.num_heads);
  const float* alibi_slopes = alibi ? slopes.data() : nullptr;
  const std::vector<float> want = RunPaged(*MakeReferenceBackend(), c, in, mask, alibi_slopes);
  std::vector<float> first;
  for (int threads : {1, 2, 3, 4}) {
    const std::vector<float> got = RunPaged(*MakeCpuBackend(threads), c, in, mask, alibi_slopes);
    ExpectClose(got, want, kMaskedAttentionTol, 0.0, nullptr, "threads=" + std::to_string(threads));
    if (first.empty()) {
      first = got;
    } else {
      ExpectClose(got, first, 0.0, 0.0, nullptr, "bitwise, threads=" + std::to_string(threads));
    }
  }
}

// A chunk of the last num_q queries (1, 7, 50) gives the same bits on the CPU as those rows of the
// full prefill of the case's num_kv tokens.
inline void ExpectChunkEqualsTailOfPrefill(MaskCase full, bool alibi) {
  full.num_q = full.num_kv;
  std::vector<int32_t> storage;
  const AttentionMask full_mask = MakeMask(full, &storage);
  const PagedInputs in = MakeInputs(full, full_mask, /*poison=*/false);
  const std::vector<float> slopes = AlibiSlopes(full.num_heads);
  const float* alibi_slopes = alibi ? slopes.data() : nullptr;
  auto cpu = MakeCpuBackend(2);
  const std::vector<float> prefill = RunPaged(*cpu, full, in, full_mask, alibi_slopes);
  const int64_t row = full.num_heads * full.head_dim;
  for (int64_t num_q : {int64_t{1}, int64_t{7}, int64_t{50}}) {
    if (num_q > full.num_kv) continue;
    MaskCase chunk = full;
    chunk.num_q = num_q;
    AttentionMask mask = full_mask;
    if (mask.kind == MaskKind::kBlockList)  // the chunk's rows are the last rows of the lists
      mask.selected_blocks += (full.num_kv - num_q) * full.num_heads * mask.num_selected;
    PagedInputs chunk_in = in;
    chunk_in.q.assign(in.q.end() - num_q * row, in.q.end());
    const std::vector<float> tail(prefill.end() - num_q * row, prefill.end());
    ExpectClose(RunPaged(*cpu, chunk, chunk_in, mask, alibi_slopes), tail, 0.0, 0.0, nullptr,
                "num_q=" + std::to_string(num_q));
  }
}

inline const char* KindName(MaskKind kind) {
  switch (kind) {
    case MaskKind::kCausal: return "causal";
    case MaskKind::kSlidingWindow: return "window";
    case MaskKind::kSinks: return "sinks";
    case MaskKind::kSegments: return "segments";
    case MaskKind::kLongformer: return "longformer";
    case MaskKind::kBigBird: return "bigbird";
    case MaskKind::kBlockList: return "blocklist";
  }
  return "?";
}

// Prefill (num_q = num_kv), chunk continuation (num_q < num_kv) and decode with a long context
// (num_q = 1, num_kv = 3000: split-KV) for every kind; GQA groups 1, 3, 4; head_dim 64, 16, 20.
inline std::vector<MaskCase> MaskCases() {
  return {
    MaskCase{MaskKind::kCausal, 0, 150, 150, 12, 4, 64, 16},
    MaskCase{MaskKind::kCausal, 0, 37, 300, 8, 2, 64, 16},
    MaskCase{MaskKind::kCausal, 0, 1, 3000, 12, 4, 64, 16},
    MaskCase{MaskKind::kCausal, 0, 1, 3000, 4, 4, 20, 16},
    MaskCase{MaskKind::kCausal, 0, 90, 90, 3, 1, 16, 7},
    MaskCase{MaskKind::kSlidingWindow, 0, 200, 200, 12, 4, 64, 16},
    MaskCase{MaskKind::kSlidingWindow, 0, 40, 333, 8, 2, 16, 8},
    MaskCase{MaskKind::kSlidingWindow, 0, 1, 3000, 12, 4, 64, 16},
    MaskCase{MaskKind::kSlidingWindow, 1, 70, 300, 4, 4, 20, 16},
    MaskCase{MaskKind::kSinks, 0, 200, 200, 12, 4, 64, 16},
    MaskCase{MaskKind::kSinks, 0, 50, 400, 4, 4, 20, 8},
    MaskCase{MaskKind::kSinks, 0, 1, 3000, 8, 2, 64, 16},
    MaskCase{MaskKind::kSegments, 0, 200, 200, 12, 4, 64, 16},
    MaskCase{MaskKind::kSegments, 1, 64, 400, 8, 2, 16, 16},
    MaskCase{MaskKind::kSegments, 0, 1, 3000, 12, 4, 64, 16},
    MaskCase{MaskKind::kLongformer, 0, 260, 260, 12, 4, 64, 16},
    MaskCase{MaskKind::kLongformer, 0, 30, 300, 8, 2, 20, 8},
    MaskCase{MaskKind::kLongformer, 0, 1, 3000, 12, 4, 64, 16},
    MaskCase{MaskKind::kLongformer, 1, 1, 3000, 4, 4, 64, 16},  // the decode query is global
    MaskCase{MaskKind::kBigBird, 0, 200, 200, 12, 4, 64, 16},
    MaskCase{MaskKind::kBigBird, 1, 45, 333, 8, 2, 16, 8},
    MaskCase{MaskKind::kBigBird, 0, 1, 3000, 12, 4, 64, 16},
    MaskCase{MaskKind::kBlockList, 0, 1, 3000, 12, 4, 64, 16},
    MaskCase{MaskKind::kBlockList, 0, 20, 300, 8, 2, 20, 8},
    MaskCase{MaskKind::kBlockList, 0, 64, 64, 4, 4, 16, 16}
  };
}

// Failure messages show the case by name, not as bytes.
inline void PrintTo(const MaskCase& c, std::ostream* os) {
  *os << KindName(c.kind) << c.variant << " num_q=" << c.num_q << " num_kv=" << c.num_kv
      << " heads=" << c.num_heads << "/" << c.num_kv_heads << " head_dim=" << c.head_dim
      << " block_size=" << c.block_size;
}

// gtest parameter name of a MaskCase, e.g. "window1_q70_kv300_h4_kvh4_d20_bs16".
inline std::string MaskCaseName(const ::testing::TestParamInfo<MaskCase>& info) {
  const MaskCase& c = info.param;
  std::ostringstream name;
  name << KindName(c.kind) << c.variant << "_q" << c.num_q << "_kv" << c.num_kv << "_h"
       << c.num_heads << "_kvh" << c.num_kv_heads << "_d" << c.head_dim << "_bs" << c.block_size;
  return name.str();
}

}  // namespace attnserve::testing
