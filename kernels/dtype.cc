// DType names and storage sizes (kernels/dtype.h).
#include "kernels/dtype.h"

namespace attnserve {

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32: return "float32";
    case DType::kF16: return "float16";
    case DType::kBF16: return "bfloat16";
    case DType::kQ8_0: return "q8_0";
    case DType::kQ4_0: return "q4_0";
    case DType::kQ4_1: return "q4_1";
    case DType::kQ5_0: return "q5_0";
    case DType::kQ5_1: return "q5_1";
    case DType::kQ4_K: return "q4_k";
    case DType::kQ5_K: return "q5_k";
    case DType::kQ6_K: return "q6_k";
  }
  return "?";
}

std::optional<DType> ParseDType(std::string_view name) {
  if (name == "f32" || name == "float32") return DType::kF32;
  if (name == "f16" || name == "float16") return DType::kF16;
  if (name == "bf16" || name == "bfloat16") return DType::kBF16;
  if (name == "q8_0") return DType::kQ8_0;
  if (name == "q4_0") return DType::kQ4_0;
  if (name == "q4_1") return DType::kQ4_1;
  if (name == "q5_0") return DType::kQ5_0;
  if (name == "q5_1") return DType::kQ5_1;
  if (name == "q4_k") return DType::kQ4_K;
  if (name == "q5_k") return DType::kQ5_K;
  if (name == "q6_k") return DType::kQ6_K;
  return std::nullopt;
}

bool IsBlockDType(DType dtype) {
  return dtype != DType::kF32 && dtype != DType::kF16 && dtype != DType::kBF16;
}

bool IsKQuantDType(DType dtype) {
  return dtype == DType::kQ4_K || dtype == DType::kQ5_K || dtype == DType::kQ6_K;
}

int64_t DTypeBlockElems(DType dtype) {
  return IsKQuantDType(dtype) ? kSuperBlock : IsBlockDType(dtype) ? kQuantBlock : 1;
}

size_t DTypeBlockBytes(DType dtype) {
  switch (dtype) {
    case DType::kF32: return 4;
    case DType::kF16:
    case DType::kBF16: return 2;
    case DType::kQ8_0: return sizeof(BlockQ8_0);
    case DType::kQ4_0: return sizeof(BlockQ4_0);
    case DType::kQ4_1: return sizeof(BlockQ4_1);
    case DType::kQ5_0: return sizeof(BlockQ5_0);
    case DType::kQ5_1: return sizeof(BlockQ5_1);
    case DType::kQ4_K: return sizeof(BlockQ4_K);
    case DType::kQ5_K: return sizeof(BlockQ5_K);
    case DType::kQ6_K: return sizeof(BlockQ6_K);
  }
  return 0;
}

size_t DTypeRowBytes(DType dtype, int64_t cols) {
  return static_cast<size_t>(cols / DTypeBlockElems(dtype)) * DTypeBlockBytes(dtype);
}

}  // namespace attnserve
