// Replays every fuzz seed (fuzz/corpus/<target>/) and every input that once
// made a fuzzer fail (fuzz/regressions/<target>/) through the fuzz targets,
// so fixed crashes stay fixed in every build, sanitizer builds included. An
// input that crashes, trips a sanitizer or breaks a target's invariant
// (FuzzCheck aborts) fails the test.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_targets.h"

namespace gridrun::fuzz {
namespace {
namespace fuzz_regressions_test {

using TargetFn = int (*)(const uint8_t*, size_t);

std::vector<std::filesystem::path> FilesIn(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().filename() != ".gitkeep") {
      files.push_back(entry.path());
    }
  }
  return files;
}

// Runs every seed and regression input of `target`; returns how many ran.
size_t Replay(const std::string& target, TargetFn fn) {
  const char* source = std::getenv("GRIDRUN_SOURCE_DIR");
  EXPECT_NE(source, nullptr);
  if (source == nullptr) return 0;
  const std::filesystem::path root = std::filesystem::path(source) / "fuzz";
  size_t ran = 0;
  for (const char* kind : {"corpus", "regressions"}) {
    for (const auto& file : FilesIn(root / kind / target)) {
      SCOPED_TRACE(file.string());
      std::ifstream in(file, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), {});
      EXPECT_EQ(fn(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0);
      ++ran;
    }
  }
  return ran;
}

// A target with fewer seeds than this has lost its corpus.
constexpr size_t kMinSeeds = 5;

TEST(FuzzRegressionsTest, GridSpecInputs) {
  EXPECT_GE(Replay("grid_spec", GridSpecOneInput), kMinSeeds);
}

TEST(FuzzRegressionsTest, DataReadersInputs) {
  EXPECT_GE(Replay("data_readers", DataReadersOneInput), kMinSeeds);
}

TEST(FuzzRegressionsTest, ModelFileInputs) {
  EXPECT_GE(Replay("model_file", ModelFileOneInput), kMinSeeds);
}

TEST(FuzzRegressionsTest, CoordinatorRpcInputs) {
  EXPECT_GE(Replay("coordinator_rpc", CoordinatorRpcOneInput), kMinSeeds);
}

}  // namespace fuzz_regressions_test
}  // namespace
}  // namespace gridrun::fuzz
