// `gridrun validate` does bounded work: a spec of a few hundred bytes whose
// YAML anchors, aliases or merge keys expand to billions of nodes is refused
// in well under a second, naming the limit.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cli/validate_command.h"
#include "tests/coordinator/alias_bombs.h"

namespace gridrun::cli {
namespace {
namespace validate_limits_test {

TEST(ValidateLimitsTest, AliasBombsAreRefusedInWellUnderASecond) {
  const std::filesystem::path dir = std::filesystem::path(testing::TempDir()) / "validate_limits";
  std::filesystem::create_directories(dir);
  int n = 0;
  for (const std::string& yaml : {test_specs::AliasBombSpec(), test_specs::MergeKeyBombSpec()}) {
    const std::string path = (dir / ("bomb" + std::to_string(n++) + ".yaml")).string();
    std::ofstream(path) << yaml;
    std::ostringstream out, err;
    ValidateOptions options;
    options.path = path;
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(RunValidate(options, out, err), 1);
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.5);
    EXPECT_EQ(out.str(), "");
    EXPECT_EQ(err.str(), path + ": " + test_specs::TooManyNodesError(yaml) + "\n");
    // With --set the spec is re-emitted first; that is refused the same way.
    std::ostringstream out2, err2;
    options.sets = {"epochs=1"};
    EXPECT_EQ(RunValidate(options, out2, err2), 1);
    EXPECT_NE(err2.str().find(test_specs::TooManyNodesError(yaml)), std::string::npos)
        << err2.str();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace validate_limits_test
}  // namespace
}  // namespace gridrun::cli
