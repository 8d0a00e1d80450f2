// tokenize_cli: a developer tool for differential checks against the HF `tokenizers` library
// (tools/make_tokenizer_golden.py --diff). Reads a JSON array of strings on stdin and writes, per
// string, {"ids": [...], "ids_no_special": [...], "decoded": "...", "decoded_skip": "..."}
// (decoding the ids with special tokens) as a JSON array on stdout. It also checks that
// StreamingDecoder's output concatenates to Decode and reports mismatches on stderr.
// Usage: attnserve_tokenize_cli path/to/tokenizer.json < texts.json > out.json
#include <chrono>
#include <iostream>
#include <iterator>

#include "engine/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " tokenizer.json < texts.json\n";
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  auto tok = attnserve::Tokenizer::FromFile(argv[1]);
  if (!tok.ok()) {
    std::cerr << tok.status() << "\n";
    return 1;
  }
  double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  nlohmann::json texts = nlohmann::json::parse(input);
  nlohmann::json out = nlohmann::json::array();
  int stream_mismatches = 0;
  start = std::chrono::steady_clock::now();
  for (const auto& t : texts) {
    const std::string text = t.get<std::string>();
    auto ids = (*tok)->Encode(text, true);
    out.push_back({{"ids", ids},
                   {"ids_no_special", (*tok)->Encode(text, false)},
                   {"decoded", (*tok)->Decode(ids, false)},
                   {"decoded_skip", (*tok)->Decode(ids, true)}});
    for (bool skip : {false, true}) {
      attnserve::StreamingDecoder stream(**tok, skip);
      std::string streamed;
      for (int32_t id : ids) streamed += stream.Push(id);
      streamed += stream.Flush();
      if (streamed != (*tok)->Decode(ids, skip)) ++stream_mismatches;
    }
  }
  double run_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::cerr << "load " << load_ms << " ms, encode+decode+stream " << run_ms << " ms, "
            << stream_mismatches << " streaming mismatches\n";
  std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}
