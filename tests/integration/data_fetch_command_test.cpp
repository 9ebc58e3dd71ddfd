// `gridrun data fetch` and `gridrun data check` through the real gridrun
// binary, copied alone into an empty directory so no gridrun-worker is
// beside it: downloads go through libcurl in the CLI itself against a
// loopback HTTP server (good files land after a redirect, a bad checksum and
// a 404 are refused and leave nothing), while `gridrun models`, which does
// need the worker, says it cannot run it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/sha256.h"
#include "datafetch/data_fetch.h"
#include "tests/datafetch/test_http_server.h"
#include "tests/integration/process_util.h"
#include "tests/models/fake_data.h"

namespace gridrun::testing {
namespace {
namespace data_fetch_command_test {

namespace fs = std::filesystem;
using fake_data::ReadFileBytes;
using fake_data::ScopedTempDir;

// MNIST's official file names, in order.
std::vector<std::string> MnistFiles() {
  std::vector<std::string> names;
  for (const auto& file : datafetch::OfficialSources()[0].files) names.push_back(file.name);
  return names;
}

// A copy of the built gridrun program alone in its own directory, run with a
// PATH that holds no gridrun-worker either.
class LoneGridrun {
 public:
  LoneGridrun() {
    program_ = bin_.path() + "/gridrun";
    fs::copy_file(BuildDir() + "/gridrun", program_);
    const char* path = std::getenv("PATH");
    saved_path_ = path != nullptr ? path : "";
    setenv("PATH", "/usr/bin:/bin", 1);
    unsetenv("GRIDRUN_DATA_MIRROR");
  }
  ~LoneGridrun() { setenv("PATH", saved_path_.c_str(), 1); }

  std::pair<int, std::string> Run(std::vector<std::string> args) {
    args.insert(args.begin(), program_);
    ChildProcess run(args);
    const int code = run.Wait(std::chrono::seconds(120));
    return {code, run.output()};
  }
  const std::string& dir() const { return bin_.path(); }

 private:
  ScopedTempDir bin_;
  std::string program_;
  std::string saved_path_;
};

// `gridrun models` resolves model files itself (torch-free): no worker needed.
TEST(DataFetchCommandTest, ModelsNeedNoWorkerBesideTheProgram) {
  LoneGridrun gridrun;
  EXPECT_FALSE(fs::exists(gridrun.dir() + "/gridrun-worker"));
  auto [code, out] = gridrun.Run({"models", "seed001-dcgan"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("Total params: 791,776"), std::string::npos) << out;
}

TEST(DataFetchCommandTest, BadChecksumAndNotFoundAreRefusedAfterARedirect) {
  LoneGridrun gridrun;
  ScopedTempDir tmp;
  TestHttpServer server;
  // Fake bytes where MNIST's first file should be: its md5 is not the official one.
  fake_data::WriteFakeMnist(tmp.path() + "/src", 20, 10, 4);
  const std::string fake = ReadFileBytes(tmp.path() + "/src/mnist/train-images-idx3-ubyte.gz");
  server.Set("/fake/train-images-idx3-ubyte.gz", {200, fake, {}, false});
  server.Set("/moved/train-images-idx3-ubyte.gz",
             {302, "", {"Location: /fake/train-images-idx3-ubyte.gz"}, false});
  const std::string data_dir = tmp.path() + "/data";

  auto [code, out] =
      gridrun.Run({"data", "fetch", "mnist", "--data-dir", data_dir, "--mirror",
                   server.base() + "/moved"});
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("gridrun data fetch: " + server.base() +
                     "/moved/train-images-idx3-ubyte.gz: md5 mismatch: got " + Md5Hex(fake) +
                     ", expected f68b3c2dcbeaaa9fbdd348bbdeb94873; nothing was written"),
            std::string::npos)
      << out;
  EXPECT_EQ(server.requests(), (std::vector<std::string>{"/moved/train-images-idx3-ubyte.gz",
                                                         "/fake/train-images-idx3-ubyte.gz"}));
  EXPECT_TRUE(fs::is_empty(data_dir + "/mnist"));

  auto [missing_code, missing_out] =
      gridrun.Run({"data", "fetch", "fashion-mnist", "--data-dir", data_dir, "--mirror",
                   server.base() + "/nowhere"});
  EXPECT_EQ(missing_code, 1) << missing_out;
  EXPECT_NE(missing_out.find("gridrun data fetch: GET " + server.base() +
                             "/nowhere/train-images-idx3-ubyte.gz: HTTP 404 Not Found"),
            std::string::npos)
      << missing_out;
  EXPECT_TRUE(fs::is_empty(data_dir + "/fashion-mnist"));

  auto [check_code, check_out] = gridrun.Run({"data", "check", "--data-dir", data_dir});
  EXPECT_EQ(check_code, 1) << check_out;  // nothing usable landed
  EXPECT_NE(check_out.find("fix: gridrun data fetch mnist"), std::string::npos) << check_out;
}

// The official MNIST files (their checksums are the published ones), served
// behind a redirect: all four land and `gridrun data check` finds them complete.
TEST(DataFetchCommandTest, OfficialFilesLandAfterARedirect) {
  const char* shared = std::getenv("GRIDRUN_SHARED_DATA");
  if (shared == nullptr || !fs::exists(std::string(shared) + "/mnist/" + MnistFiles()[0])) {
    GTEST_SKIP() << "the official MNIST files are not at " << (shared ? shared : "(unset)");
  }
  LoneGridrun gridrun;
  ScopedTempDir tmp;
  TestHttpServer server;
  for (const std::string& name : MnistFiles()) {
    server.Set("/real/" + name,
               {200, ReadFileBytes(std::string(shared) + "/mnist/" + name), {}, false});
    server.Set("/old/" + name, {301, "", {"Location: ../real/" + name}, false});
  }
  const std::string data_dir = tmp.path() + "/data";
  auto [code, out] = gridrun.Run(
      {"data", "fetch", "mnist", "--data-dir", data_dir, "--mirror", server.base() + "/old"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("fetched mnist into " + data_dir), std::string::npos) << out;
  for (const std::string& name : MnistFiles()) {
    EXPECT_EQ(ReadFileBytes(data_dir + "/mnist/" + name),
              ReadFileBytes(std::string(shared) + "/mnist/" + name))
        << name;
  }
  EXPECT_EQ(server.requests().size(), 8u);  // each file: the redirect, then the file

  auto [check_code, check_out] = gridrun.Run({"data", "check", "--data-dir", data_dir});
  EXPECT_EQ(check_code, 0) << check_out;
  EXPECT_NE(check_out.find("mnist: complete, train 60000, test 10000"), std::string::npos)
      << check_out;
}

}  // namespace data_fetch_command_test
}  // namespace
}  // namespace gridrun::testing
