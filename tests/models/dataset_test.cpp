#include "models/dataset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "tests/models/fake_data.h"

namespace gridrun::models {
namespace {
namespace dataset_test {

using fake_data::FakeImages;
using fake_data::IdxBytes;
using fake_data::ScopedTempDir;
using fake_data::WriteFileBytes;

void ExpectMatches(const Dataset& ds, const FakeImages& want) {
  ASSERT_EQ(ds.images.scalar_type(), torch::kUInt8);
  ASSERT_EQ(ds.labels.scalar_type(), torch::kInt64);
  ASSERT_TRUE(ds.images.is_contiguous());
  ASSERT_EQ(ds.images.sizes(), (std::vector<int64_t>{want.n, want.c, want.h, want.w}));
  ASSERT_EQ(ds.labels.sizes(), (std::vector<int64_t>{want.n}));
  const uint8_t* got = ds.images.data_ptr<uint8_t>();
  EXPECT_TRUE(std::equal(want.pixels.begin(), want.pixels.end(), got));
  for (int64_t i = 0; i < want.n; ++i) {
    ASSERT_EQ(ds.labels[i].item<int64_t>(), want.labels[i]) << "label " << i;
  }
}

// The first `n` images of `all`.
FakeImages Prefix(const FakeImages& all, int64_t n) {
  FakeImages out = all;
  out.n = n;
  out.pixels.resize(static_cast<size_t>(n * all.ImageBytes()));
  out.labels.resize(static_cast<size_t>(n));
  return out;
}

class DatasetFormatTest : public ::testing::TestWithParam<bool> {};

TEST_P(DatasetFormatTest, LoadsExactPixelsAndLabels) {
  const bool gzip = GetParam();
  ScopedTempDir dir;
  for (const std::string name : {"mnist", "fashion-mnist"}) {
    fake_data::FakeSplits want =
        fake_data::WriteFakeMnist(dir.path(), 53, 21, /*seed=*/3, {gzip, name});
    absl::StatusOr<Dataset> train = LoadDataset(name, dir.path(), Split::kTrain);
    ASSERT_TRUE(train.ok()) << train.status();
    ExpectMatches(*train, want.train);
    EXPECT_EQ(train->info.name, name);
    absl::StatusOr<Dataset> test = LoadDataset(name, dir.path(), Split::kTest);
    ASSERT_TRUE(test.ok()) << test.status();
    ExpectMatches(*test, want.test);
  }
}

TEST_P(DatasetFormatTest, LimitTakesTheFirstImages) {
  ScopedTempDir dir;
  fake_data::FakeSplits want = fake_data::WriteFakeMnist(dir.path(), 40, 10, 5, {GetParam()});
  absl::StatusOr<Dataset> ds = LoadDataset("mnist", dir.path(), Split::kTrain, /*limit=*/7);
  ASSERT_TRUE(ds.ok()) << ds.status();
  ExpectMatches(*ds, Prefix(want.train, 7));
  ds = LoadDataset("mnist", dir.path(), Split::kTrain, /*limit=*/1000);
  ASSERT_TRUE(ds.ok()) << ds.status();
  ExpectMatches(*ds, want.train);
}

TEST_P(DatasetFormatTest, CifarLoadsExactPixelsAndLabels) {
  const bool gzip = GetParam();
  ScopedTempDir dir;
  fake_data::FakeSplits want =
      fake_data::WriteFakeCifar10(dir.path(), 17, /*seed=*/9, gzip, /*train_batches=*/3);
  absl::StatusOr<Dataset> train = LoadDataset("cifar10", dir.path(), Split::kTrain);
  ASSERT_TRUE(train.ok()) << train.status();
  ExpectMatches(*train, want.train);
  absl::StatusOr<Dataset> test = LoadDataset("cifar10", dir.path(), Split::kTest);
  ASSERT_TRUE(test.ok()) << test.status();
  ExpectMatches(*test, want.test);
  // A limit that ends inside the second batch.
  absl::StatusOr<Dataset> limited = LoadDataset("cifar10", dir.path(), Split::kTrain, 20);
  ASSERT_TRUE(limited.ok()) << limited.status();
  ExpectMatches(*limited, Prefix(want.train, 20));
}

INSTANTIATE_TEST_SUITE_P(RawAndGzip, DatasetFormatTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Gzip" : "Raw"; });

TEST(DatasetTest, CifarUsesWhicheverTrainBatchesArePresentInOrder) {
  ScopedTempDir dir;
  fake_data::FakeSplits want = fake_data::WriteFakeCifar10(dir.path(), 4, 1, false, 3);
  std::filesystem::remove(dir.path() + "/cifar-10/data_batch_2.bin");
  absl::StatusOr<Dataset> train = LoadDataset("cifar10", dir.path(), Split::kTrain);
  ASSERT_TRUE(train.ok()) << train.status();
  ASSERT_EQ(train->size(), 8);
  // Batches 1 and 3: images 0-3 and 8-11 of the written sequence.
  const int64_t bytes = want.train.ImageBytes();
  const uint8_t* got = train->images.data_ptr<uint8_t>();
  EXPECT_TRUE(std::equal(want.train.Image(0), want.train.Image(4), got));
  EXPECT_TRUE(std::equal(want.train.Image(8), want.train.Image(12), got + 4 * bytes));
}

// ---- Error cases: exact text ------------------------------------------------

struct ErrorCase {
  std::string name;
  std::string dataset;  // data set to load
  Split split;
  // Writes the files into the data dir; returns the expected error text.
  std::function<std::string(const std::string& data_dir)> setup;
  absl::StatusCode code;
};

std::string WriteMnistPart(const std::string& data_dir, const std::string& base,
                           const std::string& bytes, bool gzip = true) {
  const std::string path = data_dir + "/mnist/" + base + (gzip ? ".gz" : "");
  WriteFileBytes(path, bytes, gzip);
  return path;
}

std::vector<ErrorCase> ErrorCases() {
  std::vector<ErrorCase> cases;
  cases.push_back({"BadImageMagic", "mnist", Split::kTrain,
                   [](const std::string& d) {
                     fake_data::WriteFakeMnist(d, 5, 5, 1);
                     const std::string p =
                         WriteMnistPart(d, "train-images-idx3-ubyte", IdxBytes(0, {5, 28, 28}, ""));
                     return p + ": bad magic 0x00000000, expected 0x00000803 (idx3 images)";
                   },
                   absl::StatusCode::kInvalidArgument});
  cases.push_back({"BadLabelMagic", "mnist", Split::kTest,
                   [](const std::string& d) {
                     fake_data::WriteFakeMnist(d, 5, 5, 1);
                     const std::string p =
                         WriteMnistPart(d, "t10k-labels-idx1-ubyte", IdxBytes(0x803, {5}, ""));
                     return p + ": bad magic 0x00000803, expected 0x00000801 (idx1 labels)";
                   },
                   absl::StatusCode::kInvalidArgument});
  cases.push_back({"TruncatedImages", "mnist", Split::kTrain,
                   [](const std::string& d) {
                     fake_data::WriteFakeMnist(d, 5, 5, 1);
                     WriteMnistPart(d, "train-labels-idx1-ubyte",
                                    IdxBytes(0x801, {60000}, std::string(60000, '\1')));
                     const std::string p =
                         WriteMnistPart(d, "train-images-idx3-ubyte",
                                        IdxBytes(0x803, {60000, 28, 28}, std::string(984, 'x')));
                     return p +
                            ": truncated: header says 60000 images of 28x28 (47040016 bytes) but "
                            "file has 1000 bytes";
                   },
                   absl::StatusCode::kInvalidArgument});
  cases.push_back({"TruncatedLabels", "mnist", Split::kTrain,
                   [](const std::string& d) {
                     fake_data::WriteFakeMnist(d, 5, 5, 1);
                     const std::string p = WriteMnistPart(d, "train-labels-idx1-ubyte",
                                                          IdxBytes(0x801, {5}, "\1\2"), false);
                     return p +
                            ": truncated: header says 5 labels (13 bytes) but file has 10 bytes";
                   },
                   absl::StatusCode::kInvalidArgument});
  cases.push_back({"TrailingBytes", "mnist", Split::kTrain,
                   [](const std::string& d) {
                     fake_data::WriteFakeMnist(d, 5, 5, 1);
                     const std::string p = WriteMnistPart(d, "train-labels-idx1-ubyte",
                                                          IdxBytes(0x801, {2}, "\1\2\3"));
                     WriteMnistPart(d, "train-images-idx3-ubyte",
                                    IdxBytes(0x803, {2, 28, 28}, std::string(2 * 784, 'x')));
                     return p +
                            ": size mismatch: header says 2 labels (10 bytes) but file has "
                            "11 bytes";
                   },
                   absl::StatusCode::kInvalidArgument});
  cases.push_back({"CountMismatch", "mnist", Split::kTrain,
                   [](const std::string& d) {
                     fake_data::WriteFakeMnist(d, 5, 5, 1);
                     const std::string labels = WriteMnistPart(d, "train-labels-idx1-ubyte",
                                                               IdxBytes(0x801, {4}, "\1\2\3\4"));
                     return d + "/mnist/train-images-idx3-ubyte.gz has 5 images but " + labels +
                            " has 4 labels";
                   },
                   absl::StatusCode::kInvalidArgument});
  cases.push_back({"WrongDims", "mnist", Split::kTrain,
                   [](const std::string& d) {
                     fake_data::WriteFakeMnist(d, 5, 5, 1);
                     const std::string p =
                         WriteMnistPart(d, "train-images-idx3-ubyte",
                                        IdxBytes(0x803, {5, 32, 32}, std::string(5 * 1024, 'x')));
                     return p + ": header says images of 32x32, expected 28x28 for mnist";
                   },
                   absl::StatusCode::kInvalidArgument});
  cases.push_back({"LabelOutOfRange", "mnist", Split::kTrain,
                   [](const std::string& d) {
                     fake_data::WriteFakeMnist(d, 5, 5, 1);
                     const std::string p =
                         WriteMnistPart(d, "train-labels-idx1-ubyte",
                                        IdxBytes(0x801, {5}, std::string("\1\2\3\x0c\4", 5)));
                     return p + ": label 12 at index 3 is out of range 0..9";
                   },
                   absl::StatusCode::kInvalidArgument});
  cases.push_back({"MissingImages", "fashion-mnist", Split::kTest,
                   [](const std::string& d) {
                     const std::string base = d + "/fashion-mnist/t10k-images-idx3-ubyte";
                     return "fashion-mnist test images not found: looked for " + base + " and " +
                            base + ".gz";
                   },
                   absl::StatusCode::kNotFound});
  cases.push_back({"MissingLabels", "mnist", Split::kTrain,
                   [](const std::string& d) {
                     fake_data::WriteFakeMnist(d, 5, 5, 1, {false});
                     std::filesystem::remove(d + "/mnist/train-labels-idx1-ubyte");
                     const std::string base = d + "/mnist/train-labels-idx1-ubyte";
                     return "mnist train labels not found: looked for " + base + " and " + base +
                            ".gz";
                   },
                   absl::StatusCode::kNotFound});
  cases.push_back({"CifarBadSize", "cifar10", Split::kTest,
                   [](const std::string& d) {
                     const std::string p = d + "/cifar-10/test_batch.bin";
                     WriteFileBytes(p, std::string(3074, '\0'));
                     return p +
                            ": size 3074 bytes is not a positive multiple of the 3073-byte "
                            "CIFAR-10 record (1 label + 3x32x32 pixels)";
                   },
                   absl::StatusCode::kInvalidArgument});
  cases.push_back({"CifarBadLabel", "cifar10", Split::kTrain,
                   [](const std::string& d) {
                     std::string bytes(3 * 3073, '\0');
                     bytes[2 * 3073] = 10;
                     const std::string p = d + "/cifar-10/data_batch_1.bin.gz";
                     WriteFileBytes(p, bytes, true);
                     return p + ": record 2 has label 10, expected 0..9";
                   },
                   absl::StatusCode::kInvalidArgument});
  cases.push_back({"CifarNoTrainBatches", "cifar10", Split::kTrain,
                   [](const std::string& d) {
                     std::string want = "cifar10 train batches not found: looked for ";
                     for (int i = 1; i <= 5; ++i) {
                       want += (i > 1 ? ", " : "") + d + "/cifar-10/data_batch_" +
                               std::to_string(i) + ".bin[.gz]";
                     }
                     return want;
                   },
                   absl::StatusCode::kNotFound});
  cases.push_back({"UnknownDataset", "svhn", Split::kTrain,
                   [](const std::string&) -> std::string {
                     return "unknown dataset 'svhn'; allowed: mnist, fashion-mnist, cifar10";
                   },
                   absl::StatusCode::kInvalidArgument});
  return cases;
}

class DatasetErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(DatasetErrorTest, GivesExactError) {
  const ErrorCase& c = GetParam();
  ScopedTempDir dir;
  const std::string want = c.setup(dir.path());
  absl::StatusOr<Dataset> ds = LoadDataset(c.dataset, dir.path(), c.split);
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().code(), c.code) << ds.status();
  EXPECT_EQ(ds.status().message(), want);
}

INSTANTIATE_TEST_SUITE_P(Cases, DatasetErrorTest, ::testing::ValuesIn(ErrorCases()),
                         [](const auto& info) { return info.param.name; });

TEST(DatasetTest, NegativeLimitIsInvalid) {
  ScopedTempDir dir;
  fake_data::WriteFakeMnist(dir.path(), 5, 5, 1);
  EXPECT_EQ(LoadDataset("mnist", dir.path(), Split::kTrain, -1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DatasetTest, DefaultDataDirHonoursEnvironment) {
  const char* old = std::getenv("GRIDRUN_DATA_DIR");
  const std::string saved = old != nullptr ? old : "";
  setenv("GRIDRUN_DATA_DIR", "/some/where", 1);
  EXPECT_EQ(DefaultDataDir(), "/some/where");
  unsetenv("GRIDRUN_DATA_DIR");
  EXPECT_NE(DefaultDataDir().find("/.cache/gridrun/data"), std::string::npos);
  if (old != nullptr) setenv("GRIDRUN_DATA_DIR", saved.c_str(), 1);
}

TEST(DatasetTest, NormalizeRanges) {
  torch::Tensor u8 = torch::tensor({0, 51, 255}, torch::kUInt8);
  torch::Tensor zero_one = Normalize(u8, Range::kZeroOne);
  EXPECT_EQ(zero_one.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::allclose(zero_one, torch::tensor({0.0f, 0.2f, 1.0f})));
  EXPECT_TRUE(torch::allclose(Normalize(u8, Range::kMinusOneOne),
                              torch::tensor({-1.0f, 51 / 127.5f - 1, 1.0f})));
}

// ---- Permutations and sharding ----------------------------------------------

TEST(DatasetShardTest, EpochPermutationIsDeterministicPermutation) {
  const std::vector<int64_t> a = EpochPermutation(1000, 42, 3);
  EXPECT_EQ(a, EpochPermutation(1000, 42, 3));
  EXPECT_NE(a, EpochPermutation(1000, 42, 4));
  EXPECT_NE(a, EpochPermutation(1000, 43, 3));
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(sorted[i], i);
  EXPECT_TRUE(EpochPermutation(0, 1, 0).empty());
}

struct ShardCase {
  int64_t n;
  int64_t global_batch;
  int world;
};

class DatasetShardIndicesTest : public ::testing::TestWithParam<ShardCase> {};

TEST_P(DatasetShardIndicesTest, RanksSplitEachGlobalBatchDisjointly) {
  const ShardCase c = GetParam();
  const uint64_t seed = 11;
  const int64_t epoch = 2;
  const std::vector<int64_t> perm = EpochPermutation(c.n, seed, epoch);
  const int64_t num_batches = c.n / c.global_batch;
  std::vector<torch::Tensor> shards;
  int64_t total_local = 0;
  for (int r = 0; r < c.world; ++r) {
    absl::StatusOr<torch::Tensor> s = ShardIndices(c.n, c.global_batch, r, c.world, seed, epoch);
    ASSERT_TRUE(s.ok()) << s.status();
    ASSERT_EQ(s->dim(), 2);
    EXPECT_EQ(s->size(0), num_batches);
    const int64_t want_local = c.global_batch / c.world + (r < c.global_batch % c.world ? 1 : 0);
    EXPECT_EQ(s->size(1), want_local);
    EXPECT_EQ(LocalBatchSize(c.global_batch, r, c.world), want_local);
    total_local += s->size(1);
    shards.push_back(*s);
  }
  EXPECT_EQ(total_local, c.global_batch);
  for (int64_t b = 0; b < num_batches; ++b) {
    // Ranks in order, concatenated, are exactly global batch b of the shared
    // permutation: disjoint slices whose union is the global batch.
    std::vector<int64_t> joined;
    for (const torch::Tensor& s : shards) {
      for (int64_t j = 0; j < s.size(1); ++j) joined.push_back(s[b][j].item<int64_t>());
    }
    const std::vector<int64_t> want(perm.begin() + b * c.global_batch,
                                    perm.begin() + (b + 1) * c.global_batch);
    ASSERT_EQ(joined, want) << "global batch " << b;
    EXPECT_EQ(std::set<int64_t>(joined.begin(), joined.end()).size(), joined.size());
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, DatasetShardIndicesTest,
                         ::testing::Values(ShardCase{100, 10, 1}, ShardCase{100, 10, 2},
                                           ShardCase{103, 10, 3}, ShardCase{64, 7, 4},
                                           ShardCase{5, 8, 2}, ShardCase{60000, 128, 2}));

TEST(DatasetShardTest, InvalidArguments) {
  EXPECT_FALSE(ShardIndices(10, 4, 2, 2, 0, 0).ok());   // rank >= world
  EXPECT_FALSE(ShardIndices(10, 4, -1, 2, 0, 0).ok());  // negative rank
  EXPECT_FALSE(ShardIndices(10, 1, 0, 2, 0, 0).ok());   // batch < world
  EXPECT_FALSE(ShardIndices(-1, 4, 0, 1, 0, 0).ok());
  EXPECT_FALSE(ShardIndices(10, 4, 0, 0, 0, 0).ok());
  EXPECT_FALSE(ShardIndices(10, 4, 0, 1, 0, -1).ok());
}

TEST(DatasetBatchIteratorTest, YieldsNormalizedShardBatches) {
  ScopedTempDir dir;
  fake_data::WriteFakeMnist(dir.path(), 50, 5, 4, {false});
  absl::StatusOr<Dataset> ds = LoadDataset("mnist", dir.path(), Split::kTrain);
  ASSERT_TRUE(ds.ok()) << ds.status();
  absl::StatusOr<torch::Tensor> shard = ShardIndices(50, 12, 1, 2, 7, 0);
  ASSERT_TRUE(shard.ok());
  BatchIterator it(*ds, *shard, Range::kMinusOneOne);
  EXPECT_EQ(it.num_batches(), 4);
  torch::Tensor images;
  torch::Tensor labels;
  int64_t b = 0;
  void* first_buffer = nullptr;
  while (it.Next(&images, &labels)) {
    const torch::Tensor idx = (*shard)[b];
    ASSERT_EQ(images.sizes(), (std::vector<int64_t>{6, 1, 28, 28}));
    EXPECT_TRUE(
        torch::equal(images, Normalize(ds->images.index_select(0, idx), Range::kMinusOneOne)));
    EXPECT_TRUE(torch::equal(labels, ds->labels.index_select(0, idx)));
    if (first_buffer == nullptr) first_buffer = images.data_ptr();
    EXPECT_EQ(images.data_ptr(), first_buffer) << "buffers are reused";
    ++b;
  }
  EXPECT_EQ(b, 4);
  EXPECT_FALSE(it.Next(&images, &labels));
  absl::StatusOr<torch::Tensor> next_epoch = ShardIndices(50, 12, 1, 2, 7, 1);
  ASSERT_TRUE(next_epoch.ok());
  it.Reset(*next_epoch);
  ASSERT_TRUE(it.Next(&images, &labels));
  EXPECT_TRUE(torch::equal(labels, ds->labels.index_select(0, (*next_epoch)[0])));
  EXPECT_EQ(images.data_ptr(), first_buffer);
}

// ---- Real data (skipped when absent) ---------------------------------------

std::string SharedData() {
  const char* env = std::getenv("GRIDRUN_SHARED_DATA");
  return env != nullptr ? env : "";
}

std::vector<int64_t> Histogram(const torch::Tensor& labels) {
  torch::Tensor counts = torch::bincount(labels, {}, 10);
  return std::vector<int64_t>(counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + 10);
}

TEST(DatasetRealDataTest, MnistShapesAndTestLabelHistogram) {
  const std::string dir = SharedData() + "/mnist";
  if (SharedData().empty() || !std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "real MNIST not found at " << dir;
  }
  absl::StatusOr<Dataset> train = LoadDataset("mnist", SharedData(), Split::kTrain);
  ASSERT_TRUE(train.ok()) << train.status();
  EXPECT_EQ(train->images.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_EQ(train->labels.size(0), 60000);
  absl::StatusOr<Dataset> test = LoadDataset("mnist", SharedData(), Split::kTest);
  ASSERT_TRUE(test.ok()) << test.status();
  EXPECT_EQ(test->images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  EXPECT_EQ(Histogram(test->labels),
            (std::vector<int64_t>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}));
  // The first training image is a 5 (the well-known first MNIST digit).
  EXPECT_EQ(train->labels[0].item<int64_t>(), 5);
}

TEST(DatasetRealDataTest, FashionMnistShapes) {
  const std::string dir = SharedData() + "/fashion-mnist";
  if (SharedData().empty() || !std::filesystem::exists(dir + "/t10k-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "real Fashion-MNIST not found at " << dir;
  }
  absl::StatusOr<Dataset> test = LoadDataset("fashion-mnist", SharedData(), Split::kTest);
  ASSERT_TRUE(test.ok()) << test.status();
  EXPECT_EQ(test->images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  EXPECT_EQ(Histogram(test->labels), std::vector<int64_t>(10, 1000));
}

TEST(DatasetRealDataTest, CifarBatchOneShapeAndClassCounts) {
  const std::string dir = SharedData() + "/cifar-10";
  if (SharedData().empty() || !std::filesystem::exists(dir + "/data_batch_1.bin.gz")) {
    GTEST_SKIP() << "real CIFAR-10 not found at " << dir;
  }
  absl::StatusOr<Dataset> train = LoadDataset("cifar10", SharedData(), Split::kTrain);
  ASSERT_TRUE(train.ok()) << train.status();
  EXPECT_EQ(train->images.sizes(), (std::vector<int64_t>{10000, 3, 32, 32}));
  EXPECT_EQ(Histogram(train->labels),
            (std::vector<int64_t>{1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981}));
  absl::StatusOr<Dataset> test = LoadDataset("cifar10", SharedData(), Split::kTest, 5000);
  ASSERT_TRUE(test.ok()) << test.status();
  EXPECT_EQ(test->size(), 5000);
}

}  // namespace dataset_test
}  // namespace
}  // namespace gridrun::models
