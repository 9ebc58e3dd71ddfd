// `gridrun models` and `gridrun data check` through the real binaries
// (`models` is handed to gridrun-worker, which links LibTorch; `data check`
// runs in gridrun itself, through the torch-free datafetch/ library).
#include <gtest/gtest.h>

#include "common/model_catalog.h"
#include "tests/integration/coordinator_fixture.h"
#include "tests/integration/process_util.h"
#include "tests/models/fake_data.h"
#include "modelspec/zoo.h"

namespace gridrun::testing {
namespace {
namespace model_tools_test {

std::pair<int, std::string> Gridrun(std::vector<std::string> args) {
  args.insert(args.begin(), BuildDir() + "/gridrun");
  ChildProcess run(args);
  const int code = run.Wait(std::chrono::seconds(60));
  return {code, run.output()};
}

TEST(ModelToolsTest, ListsEveryCatalogModel) {
  auto [code, out] = Gridrun({"models"});
  ASSERT_EQ(code, 0) << out;
  for (const auto& model : ModelCatalog()) {
    EXPECT_NE(out.find(std::string(model.name)), std::string::npos) << model.name;
  }
  EXPECT_NE(out.find("2,924,570"), std::string::npos) << out;  // seed 004 MLP VAE
}

TEST(ModelToolsTest, PrintsASeedLayerTable) {
  auto [code, out] = Gridrun({"models", "seed001-dcgan"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("| ConvTranspose2d-1 | [-1, 128, 7, 7] | 627,200 |"), std::string::npos)
      << out;
  EXPECT_NE(out.find("Total params: 791,776"), std::string::npos) << out;
  EXPECT_NE(out.find("Total params: 691,680"), std::string::npos) << out;
}

TEST(ModelToolsTest, UnknownModelIsAClearError) {
  auto [code, out] = Gridrun({"models", "seed999-gan"});
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("unknown model 'seed999-gan'"), std::string::npos) << out;
}

TEST(ModelToolsTest, DataCheckReportsWhatIsPresent) {
  TempDir dir;
  fake_data::WriteFakeMnist(dir.path(), 50, 20, /*seed=*/1);
  auto [code, out] = Gridrun({"data", "check", "--data-dir", dir.path()});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("mnist: complete, train 50, test 20"), std::string::npos) << out;
  auto [empty_code, empty_out] = Gridrun({"data", "check", "--data-dir", dir.path() + "/none"});
  EXPECT_EQ(empty_code, 1) << empty_out;
}

}  // namespace model_tools_test
}  // namespace
}  // namespace gridrun::testing
