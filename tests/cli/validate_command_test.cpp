#include "cli/validate_command.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace gridrun::cli {
namespace {
namespace validate_command_test {

namespace fs = std::filesystem;

class ValidateCommandTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::path(testing::TempDir()) /
        ("validate_" + std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  fs::path dir_;
};

constexpr char kGood[] =
    "experiment: vae-kl\n"
    "dataset: mnist\n"
    "model: vae-mlp\n"
    "grid:\n"
    "  latent_size: [2, 64]\n"
    "  kl_weight: [1.0, 0.5]\n";

constexpr char kBad[] =
    "experiment: vae-kl\n"
    "dataset: mnist\n"
    "model: dcgan\n"
    "epochs: 0\n"
    "kl_weight: 0.5\n";

TEST_F(ValidateCommandTest, GoodSpecPrintsSummary) {
  const std::string path = Write("good.yaml", kGood);
  std::ostringstream out, err;
  EXPECT_EQ(RunValidate({path}, out, err), 0);
  EXPECT_EQ(out.str(), path +
                           ": OK, 4 trials\n"
                           "  latent_size: 2, 64 (2 values)\n"
                           "  kl_weight: 1, 0.5 (2 values)\n");
  EXPECT_EQ(err.str(), "");
}

TEST_F(ValidateCommandTest, BadSpecPrintsEveryErrorWithTheFileName) {
  const std::string path = Write("bad.yaml", kBad);
  std::ostringstream out, err;
  EXPECT_EQ(RunValidate({path}, out, err), 1);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str(), path + ": line 4: epochs: out of range (got 0; allowed: 1..100000)\n" +
                           path +
                           ": line 5: kl_weight: not used by model dcgan, whose objective is gan "
                           "(allowed: objective vae)\n");
}

TEST_F(ValidateCommandTest, InvalidYamlGivesLineAndColumn) {
  const std::string path = Write("broken.yaml", "experiment: x\ngrid: {a: [1, 2}\n");
  std::ostringstream out, err;
  EXPECT_EQ(RunValidate({path}, out, err), 1);
  EXPECT_EQ(err.str().rfind(path + ": line 2, column ", 0), 0u) << err.str();
  EXPECT_NE(err.str().find("invalid YAML"), std::string::npos) << err.str();
}

TEST_F(ValidateCommandTest, MissingFile) {
  const std::string path = (dir_ / "absent.yaml").string();
  std::ostringstream out, err;
  EXPECT_EQ(RunValidate({path}, out, err), 1);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str(), path + ": cannot open file: No such file or directory\n");
}

TEST_F(ValidateCommandTest, MaxTrialsLimitsTheGrid) {
  const std::string path = Write("good.yaml", kGood);
  std::ostringstream out, err;
  ValidateOptions options{path, 3};
  EXPECT_EQ(RunValidate(options, out, err), 1);
  EXPECT_EQ(err.str(), path +
                           ": line 4: grid: too many trials (got 4 = latent_size 2 x kl_weight 2; "
                           "allowed: at most 3)\n");
}

// The subcommand as `gridrun` registers it.
TEST_F(ValidateCommandTest, Subcommand) {
  const std::string good = Write("good.yaml", kGood);
  const std::string bad = Write("bad.yaml", kBad);
  {
    CLI::App app;
    std::ostringstream out, err;
    AddValidateCommand(app, out, err);
    EXPECT_NO_THROW(app.parse(std::vector<std::string>{good, "validate"}));  // reversed argv
    EXPECT_EQ(out.str().rfind(good + ": OK, 4 trials\n", 0), 0u) << out.str();
  }
  {
    CLI::App app;
    std::ostringstream out, err;
    AddValidateCommand(app, out, err);
    try {
      app.parse(std::vector<std::string>{bad, "validate"});
      ADD_FAILURE() << "no error";
    } catch (const CLI::ParseError& e) {
      EXPECT_EQ(app.exit(e, out, err), 1);
    }
    EXPECT_NE(err.str().find(bad + ": line 4: epochs: out of range"), std::string::npos);
  }
  {
    CLI::App app;
    std::ostringstream out, err;
    AddValidateCommand(app, out, err);
    EXPECT_THROW(app.parse(std::vector<std::string>{good, "--max-trials", "0", "validate"}),
                 CLI::ValidationError);
  }
  {
    CLI::App app;
    std::ostringstream out, err;
    AddValidateCommand(app, out, err);
    EXPECT_THROW(app.parse(std::vector<std::string>{"validate"}), CLI::RequiredError);
  }
}

// Exit codes of the real program, when the build has it.
TEST_F(ValidateCommandTest, ProgramExitCodes) {
  // GRIDRUN_BUILD_DIR, else the build dir this test binary (<build>/tests/) is in.
  const char* build_dir = std::getenv("GRIDRUN_BUILD_DIR");
  const fs::path program =
      (build_dir != nullptr ? fs::path(build_dir)
                            : fs::read_symlink("/proc/self/exe").parent_path().parent_path()) /
      "gridrun";
  if (!fs::exists(program)) GTEST_SKIP() << "gridrun not built at " << program;
  const std::string good = Write("good.yaml", kGood);
  const std::string bad = Write("bad.yaml", kBad);
  auto run = [&](const std::string& args) {
    const int status = std::system((program.string() + " " + args + " >/dev/null 2>&1").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  EXPECT_EQ(run("validate " + good), 0);
  EXPECT_EQ(run("validate " + bad), 1);
  EXPECT_EQ(run("validate " + (dir_ / "absent.yaml").string()), 1);
  EXPECT_EQ(run("validate"), 2);
  EXPECT_EQ(run("frobnicate"), 2);
  EXPECT_EQ(run("--help"), 0);
}

}  // namespace validate_command_test
}  // namespace
}  // namespace gridrun::cli
