// Every grid in experiments/ (globbed at run time, so a new file is covered
// without touching this test): it validates as written, it opens with the
// comment block the README asks for (question, metrics/pictures, the run
// and smoke commands), its experiment name is unique, and its smoke variant
// (the --set recipe in README.md and in the file's comment) validates too.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cli/spec_files.h"
#include "coordinator/grid_spec.h"

namespace gridrun::coordinator {
namespace {
namespace experiments_test {

namespace fs = std::filesystem;

// The smoke recipe of README.md "Experiments".
const std::vector<std::string> kSmoke = {"epochs=1", "samples.epochs=[1]", "train_size=1024",
                                         "test_size=256", "eval_samples=0"};

std::vector<fs::path> ExperimentFiles() {
  const char* source = std::getenv("GRIDRUN_SOURCE_DIR");
  std::vector<fs::path> files;
  if (source == nullptr) return files;
  for (const auto& entry : fs::directory_iterator(fs::path(source) / "experiments")) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The model files a grid names, read as `gridrun validate` reads them:
// relative to the grid (experiments/models/).
ModelFileTexts ModelFilesOf(const fs::path& spec_path, const std::string& text) {
  ModelFileTexts files;
  for (const std::string& model : cli::ModelFilePaths(text)) {
    files[model] = ReadFile(spec_path.parent_path() / model);
  }
  return files;
}

// The leading run of '#' lines.
std::string CommentBlock(const std::string& text) {
  std::istringstream lines(text);
  std::string block, line;
  while (std::getline(lines, line) && line.starts_with("#")) block += line + "\n";
  return block;
}

TEST(ExperimentsTest, TheLibraryHasTheSeedStudies) {
  // quickstart plus one grid per seed study (at least ten).
  EXPECT_GE(ExperimentFiles().size(), 11u) << "GRIDRUN_SOURCE_DIR/experiments";
}

TEST(ExperimentsTest, EveryFileValidatesAndDocumentsItself) {
  std::map<std::string, std::string> names;  // experiment -> file
  for (const fs::path& path : ExperimentFiles()) {
    SCOPED_TRACE(path.filename().string());
    const std::string text = ReadFile(path);
    auto spec = ParseGridSpec(text, {}, ModelFilesOf(path, text));
    ASSERT_TRUE(spec.ok()) << spec.status();
    const auto [it, unique] = names.emplace(spec->experiment, path.filename().string());
    EXPECT_TRUE(unique) << "experiment " << spec->experiment << " also in " << it->second;

    const std::string block = CommentBlock(text);
    EXPECT_NE(block.find("Question:"), std::string::npos) << "no 'Question:' in\n" << block;
    EXPECT_NE(block.find("Answered by:"), std::string::npos) << "no 'Answered by:' in\n" << block;
    const std::string run = "gridrun local experiments/" + path.filename().string();
    EXPECT_NE(block.find(run), std::string::npos) << "no '" << run << "' in\n" << block;
  }
}

TEST(ExperimentsTest, EverySmokeVariantValidates) {
  for (const fs::path& path : ExperimentFiles()) {
    SCOPED_TRACE(path.filename().string());
    const std::string text = ReadFile(path);
    auto smoke = ApplySpecOverrides(text, kSmoke);
    ASSERT_TRUE(smoke.ok()) << smoke.status();
    const ModelFileTexts files = ModelFilesOf(path, text);
    auto spec = ParseGridSpec(*smoke, {}, files);
    ASSERT_TRUE(spec.ok()) << spec.status();
    EXPECT_EQ(spec->fixed.at("epochs"), SpecValue(int64_t{1}));
    // The smoke run is a different spec: it never collides with the full one.
    EXPECT_NE(spec->canonical_json, ParseGridSpec(text, {}, files)->canonical_json);
    // The comment gives the smoke command, with the recipe's settings.
    const std::string block = CommentBlock(text);
    EXPECT_NE(block.find("Smoke test"), std::string::npos) << "no smoke command in\n" << block;
    for (const std::string& set : kSmoke) {
      EXPECT_NE(block.find("--set " + set), std::string::npos) << set << " missing in\n" << block;
    }
  }
}

}  // namespace experiments_test
}  // namespace
}  // namespace gridrun::coordinator
