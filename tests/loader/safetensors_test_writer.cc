// Test helper implementation: safetensors serialisation and temp dirs.
#include "tests/loader/safetensors_test_writer.h"

#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::testing {

std::string F32Bytes(const std::vector<float>& values) {
  std::string out(values.size() * 4, '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

std::string U16Bytes(const std::vector<uint16_t>& bits) {
  std::string out(bits.size() * 2, '\0');
  std::memcpy(out.data(), bits.data(), out.size());
  return out;
}

std::string SerializeSafetensors(const std::vector<TensorBytes>& tensors,
                                 const std::string& metadata_json, size_t align) {
  // Build the header by hand to keep the tensors' order and exact byte layout under test control.
  std::string header = "{";
  std::string data;
  if (!metadata_json.empty()) header += "\"__metadata__\":" + metadata_json;
  for (const TensorBytes& t : tensors) {
    if (header.size() > 1) header += ",";
    nlohmann::json entry = {{"dtype", t.dtype},
                            {"shape", t.shape},
                            {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    header += nlohmann::json(t.name).dump() + ":" + entry.dump();
    data += t.bytes;
  }
  header += "}";
  while ((8 + header.size()) % align != 0) header += ' ';
  return RawSafetensors(header, data);
}

std::string RawSafetensors(const std::string& header, const std::string& data, uint64_t header_len) {
  if (header_len == UINT64_MAX) header_len = header.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &header_len, 8);
  return out + header + data;
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

TempDir::TempDir() {
  std::string tmpl = ::testing::TempDir() + "attnserve_loader_XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + tmpl);
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace attnserve::testing
