// Replays the committed fuzz inputs through their targets in every build (gcc included, no
// libFuzzer needed): each file of tests/fuzz/corpus/<target>/ (seeds) and
// tests/fuzz/regressions/<target>/ (inputs that once crashed, kept after their fix) must run
// without a crash or sanitizer report. Every target must have a seed corpus.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/fuzz/fuzz_targets.h"

namespace attnserve::fuzz {

// gtest prints a parameter in the test's listing (and so in ctest's names): the target's name,
// not its bytes.
void PrintTo(const FuzzTarget& target, std::ostream* os) { *os << target.name; }

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> FilesOf(const fs::path& dir) {
  std::vector<fs::path> files;
  if (!fs::is_directory(dir)) return files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename().string()[0] != '.') files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<uint8_t> ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class FuzzCorpusReplay : public ::testing::TestWithParam<FuzzTarget> {};

TEST_P(FuzzCorpusReplay, SeedsAndRegressionsRunClean) {
  const FuzzTarget& target = GetParam();
  const fs::path root(ATTNSERVE_FUZZ_DIR);
  const std::vector<fs::path> seeds = FilesOf(root / "corpus" / target.name);
  EXPECT_FALSE(seeds.empty()) << "no seed corpus in " << (root / "corpus" / target.name);
  std::vector<fs::path> all = seeds;
  for (const fs::path& p : FilesOf(root / "regressions" / target.name)) all.push_back(p);
  for (const fs::path& path : all) {
    SCOPED_TRACE(path.string());
    if (std::getenv("ATTNSERVE_FUZZ_DEBUG") != nullptr) std::fprintf(stderr, "%s\n", path.c_str());
    const std::vector<uint8_t> bytes = ReadBytes(path);
    EXPECT_EQ(target.fn(bytes.data(), bytes.size()), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzCorpusReplay, ::testing::ValuesIn(AllFuzzTargets().begin(), AllFuzzTargets().end()),
                         [](const ::testing::TestParamInfo<FuzzTarget>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace attnserve::fuzz
