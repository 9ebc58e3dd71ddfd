// `gridrun data check`'s library (datafetch/data_check.h): presence,
// validity and counts from headers and sizes, on generated files and, when
// present, on the real shared data.
#include "datafetch/data_check.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "datafetch/data_fetch.h"
#include "tests/models/fake_data.h"

namespace gridrun::datafetch {
namespace {
namespace data_check_test {

namespace fs = std::filesystem;
using fake_data::ReadFileBytes, fake_data::ScopedTempDir, fake_data::WriteFileBytes;

const DatasetCheck& Find(const DataCheckReport& report, const std::string& name) {
  for (const DatasetCheck& ds : report.datasets) {
    if (ds.name == name) return ds;
  }
  throw std::runtime_error("no " + name);
}

TEST(DataFetchCheckTest, ReportsPresenceValidityAndCounts) {
  ScopedTempDir tmp;
  fake_data::WriteFakeMnist(tmp.path(), 40, 20, 1);
  fake_data::WriteFakeMnist(tmp.path(), 40, 20, 1, {false, "fashion-mnist"});
  fake_data::WriteFakeCifar10(tmp.path(), 11, 1, true, /*train_batches=*/2);
  // Fashion-MNIST: cut the test images short (a raw file), drop the train labels.
  const std::string images = tmp.path() + "/fashion-mnist/t10k-images-idx3-ubyte";
  WriteFileBytes(images, ReadFileBytes(images).substr(0, 1000));
  fs::remove(tmp.path() + "/fashion-mnist/train-labels-idx1-ubyte");

  const DataCheckReport report = CheckData(tmp.path());
  ASSERT_EQ(report.datasets.size(), 3u);
  const DatasetCheck& mnist = Find(report, "mnist");
  EXPECT_TRUE(mnist.usable);
  EXPECT_TRUE(mnist.complete);
  EXPECT_EQ(mnist.train_count, 40);
  EXPECT_EQ(mnist.test_count, 20);
  ASSERT_EQ(mnist.files.size(), 4u);
  EXPECT_EQ(mnist.files[0].path, tmp.path() + "/mnist/train-images-idx3-ubyte.gz");

  const DatasetCheck& fashion = Find(report, "fashion-mnist");
  EXPECT_FALSE(fashion.usable);
  EXPECT_FALSE(fashion.files[1].present);  // train labels
  EXPECT_FALSE(fashion.files[2].valid);    // t10k images
  EXPECT_EQ(fashion.files[2].error,
            images +
                ": truncated: header says 20 images of 28x28 (15696 bytes) but file has "
                "1000 bytes");

  const DatasetCheck& cifar = Find(report, "cifar10");
  EXPECT_TRUE(cifar.usable);
  EXPECT_FALSE(cifar.complete);
  EXPECT_EQ(cifar.train_count, 22);
  EXPECT_EQ(cifar.test_count, 11);

  const std::string text = FormatDataCheckReport(report);
  EXPECT_NE(text.find("mnist: complete, train 40, test 20"), std::string::npos) << text;
  EXPECT_NE(text.find("missing  train-labels-idx1-ubyte[.gz]"), std::string::npos) << text;
  EXPECT_NE(text.find("fix: gridrun data fetch fashion-mnist"), std::string::npos) << text;
  EXPECT_NE(text.find("cifar10: usable (incomplete), train 22, test 11"), std::string::npos)
      << text;
}

TEST(DataFetchCheckTest, TruncatedGzipIsCaughtByItsTrailer) {
  ScopedTempDir tmp;
  fake_data::WriteFakeMnist(tmp.path(), 40, 20, 1);
  const std::string path = tmp.path() + "/mnist/train-images-idx3-ubyte.gz";
  const std::string bytes = ReadFileBytes(path);
  WriteFileBytes(path, bytes.substr(0, bytes.size() - 100));
  const DataCheckReport report = CheckData(tmp.path());
  const DatasetCheck& mnist = Find(report, "mnist");
  EXPECT_FALSE(mnist.usable);
  EXPECT_FALSE(mnist.files[0].valid);
  EXPECT_FALSE(mnist.files[0].error.empty());
}

TEST(DataFetchCheckTest, RealSharedDataIfPresent) {
  const char* env = std::getenv("GRIDRUN_SHARED_DATA");
  if (env == nullptr || !fs::exists(std::string(env) + "/mnist")) {
    GTEST_SKIP() << "real data not found at " << (env != nullptr ? env : "(unset)");
  }
  const DataCheckReport report = CheckData(env);
  const DatasetCheck& mnist = Find(report, "mnist");
  EXPECT_TRUE(mnist.complete) << FormatDataCheckReport(report);
  EXPECT_EQ(mnist.train_count, 60000);
  EXPECT_EQ(mnist.test_count, 10000);
  const DatasetCheck& cifar = Find(report, "cifar10");
  EXPECT_TRUE(cifar.usable) << FormatDataCheckReport(report);
  EXPECT_EQ(cifar.train_count, 10000);
  // The shared files are the official ones.
  for (const RemoteFile& file : OfficialSources()[0].files) {
    EXPECT_EQ(*Md5FileHex(std::string(env) + "/mnist/" + file.name), file.md5);
  }
}

}  // namespace data_check_test
}  // namespace
}  // namespace gridrun::datafetch
