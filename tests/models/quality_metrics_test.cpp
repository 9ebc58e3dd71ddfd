#include "models/quality_metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/models/fake_data.h"

namespace gridrun::models {
namespace {
namespace quality_metrics_test {

using fake_data::ScopedTempDir;

torch::Tensor F64(std::vector<double> values) { return torch::tensor(values, torch::kFloat64); }

// A random orthogonal matrix (QR of a Gaussian matrix).
torch::Tensor RandomRotation(int64_t d) {
  auto [q, r] = torch::linalg_qr(torch::randn({d, d}, torch::kFloat64));
  return q;
}

TEST(QualityFrechetDistanceTest, DiagonalCovariancesMatchClosedForm) {
  const torch::Tensor mu1 = F64({1, 2, 3});
  const torch::Tensor mu2 = F64({0, 0, 1});
  const std::vector<double> a = {4, 1, 0.25};
  const std::vector<double> b = {1, 9, 0.25};
  double want = 1 + 4 + 4;  // ||mu1 - mu2||^2
  for (size_t i = 0; i < a.size(); ++i) want += std::pow(std::sqrt(a[i]) - std::sqrt(b[i]), 2);
  absl::StatusOr<double> fd = FrechetDistance(mu1, torch::diag(F64(a)), mu2, torch::diag(F64(b)));
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_NEAR(*fd, want, 1e-10);
  // float32 inputs are computed in float64 as well.
  fd = FrechetDistance(mu1.to(torch::kFloat32), torch::diag(F64(a)).to(torch::kFloat32),
                       mu2.to(torch::kFloat32), torch::diag(F64(b)).to(torch::kFloat32));
  ASSERT_TRUE(fd.ok());
  EXPECT_NEAR(*fd, want, 1e-5);
}

TEST(QualityFrechetDistanceTest, CommutingCovariancesInARotatedBasis) {
  torch::manual_seed(3);
  const int64_t d = 16;
  const torch::Tensor q = RandomRotation(d);
  const torch::Tensor a = torch::rand({d}, torch::kFloat64) * 3;
  const torch::Tensor b = torch::rand({d}, torch::kFloat64) * 3;
  const torch::Tensor s1 = q.matmul(torch::diag(a)).matmul(q.t());
  const torch::Tensor s2 = q.matmul(torch::diag(b)).matmul(q.t());
  const torch::Tensor mu = torch::randn({d}, torch::kFloat64);
  const double want = (a.sqrt() - b.sqrt()).pow(2).sum().item<double>();
  absl::StatusOr<double> fd = FrechetDistance(mu, s1, mu, s2);
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_NEAR(*fd, want, 1e-9);
}

TEST(QualityFrechetDistanceTest, SymmetricAndZeroOnItself) {
  torch::manual_seed(4);
  const int64_t d = 32;
  const torch::Tensor x = torch::randn({d, d}, torch::kFloat64);
  const torch::Tensor y = torch::randn({d, d}, torch::kFloat64);
  const torch::Tensor s1 = x.matmul(x.t());
  const torch::Tensor s2 = y.matmul(y.t()) + torch::eye(d, torch::kFloat64);
  const torch::Tensor mu1 = torch::randn({d}, torch::kFloat64);
  const torch::Tensor mu2 = torch::randn({d}, torch::kFloat64);
  const double ab = *FrechetDistance(mu1, s1, mu2, s2);
  const double ba = *FrechetDistance(mu2, s2, mu1, s1);
  EXPECT_GT(ab, 0);
  EXPECT_NEAR(ab, ba, 1e-8 * ab);
  EXPECT_NEAR(*FrechetDistance(mu1, s1, mu1, s1), 0.0, 1e-8 * s1.trace().item<double>());
}

TEST(QualityFrechetDistanceTest, ShapeErrors) {
  const torch::Tensor mu = torch::zeros({3}, torch::kFloat64);
  const torch::Tensor s = torch::eye(3, torch::kFloat64);
  EXPECT_EQ(FrechetDistance(mu, s, torch::zeros({4}), s).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FrechetDistance(mu, torch::eye(4), mu, s).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FrechetDistance(mu, s, mu, torch::Tensor()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FitGaussian(torch::zeros({1, 5})).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(QualityFitGaussianTest, MeanAndUnbiasedCovariance) {
  const torch::Tensor x = torch::tensor({{1.0, 2.0}, {3.0, 6.0}, {5.0, 10.0}});
  absl::StatusOr<FeatureStats> stats = FitGaussian(x);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->count, 3);
  EXPECT_EQ(stats->mean.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(torch::allclose(stats->mean, F64({3, 6})));
  EXPECT_TRUE(
      torch::allclose(stats->cov, torch::tensor({{4.0, 8.0}, {8.0, 16.0}}, torch::kFloat64)));
}

struct HistogramCase {
  std::vector<int64_t> counts;
  int coverage;
  double kl;
};

TEST(QualityHistogramTest, ModeCoverageAndClassKl) {
  const double log10 = std::log(10.0);
  const std::vector<HistogramCase> cases = {
      {{0, 0, 0, 100, 0, 0, 0, 0, 0, 0}, 1, log10},
      {std::vector<int64_t>(10, 50), 10, 0.0},
      // Fair share of 100 is 10; half of it is 5: classes with >= 5 count.
      {{5, 4, 10, 10, 10, 10, 10, 10, 16, 15}, 9, -1},
      {{50, 50, 0, 0, 0, 0, 0, 0, 0, 0}, 2, std::log(5.0)},
      {std::vector<int64_t>(10, 0), 0, 0.0},
  };
  for (const HistogramCase& c : cases) {
    EXPECT_EQ(ModeCoverage(c.counts), c.coverage);
    if (c.kl >= 0) EXPECT_NEAR(ClassKl(c.counts), c.kl, 1e-12);
  }
}

// A classifier trained briefly on fake class-patterned data, shared by the
// tests below.
class QualityFakeDataTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScopedTempDir();
    splits_ = new fake_data::FakeSplits(fake_data::WriteFakeMnist(dir_->path(), 800, 500, 21));
    ClassifierTrainOptions options;
    options.epochs = 3;
    options.batch_size = 32;
    options.max_steps = 30;
    options.num_threads = 2;
    options.use_cache = false;
    absl::StatusOr<EvalClassifier> classifier =
        LoadOrTrainEvalClassifier("mnist", dir_->path(), options);
    ASSERT_TRUE(classifier.ok()) << classifier.status();
    classifier_ = new EvalClassifier(*classifier);
    absl::StatusOr<Dataset> train = LoadDataset("mnist", dir_->path(), Split::kTrain);
    absl::StatusOr<Dataset> test = LoadDataset("mnist", dir_->path(), Split::kTest);
    ASSERT_TRUE(train.ok() && test.ok());
    train_ = new Dataset(*train);
    test_ = new Dataset(*test);
  }
  static void TearDownTestSuite() {
    delete classifier_;
    delete train_;
    delete test_;
    delete splits_;
    delete dir_;
  }

  static ScopedTempDir* dir_;
  static fake_data::FakeSplits* splits_;
  static EvalClassifier* classifier_;
  static Dataset* train_;
  static Dataset* test_;
};

ScopedTempDir* QualityFakeDataTest::dir_ = nullptr;
fake_data::FakeSplits* QualityFakeDataTest::splits_ = nullptr;
EvalClassifier* QualityFakeDataTest::classifier_ = nullptr;
Dataset* QualityFakeDataTest::train_ = nullptr;
Dataset* QualityFakeDataTest::test_ = nullptr;

TEST_F(QualityFakeDataTest, FidOfASetAgainstItselfIsZero) {
  absl::StatusOr<FeatureStats> real =
      RealFeatureStats(*classifier_, test_->images, Range::kMinusOneOne);
  ASSERT_TRUE(real.ok()) << real.status();
  absl::StatusOr<QualityMetrics> self =
      ComputeQualityMetrics(*classifier_, *real, test_->images, Range::kMinusOneOne);
  ASSERT_TRUE(self.ok()) << self.status();
  const double scale = real->cov.trace().item<double>();
  ASSERT_GT(scale, 0);
  EXPECT_LT(self->fid / scale, 1e-3);
  EXPECT_EQ(self->count, 500);
}

TEST_F(QualityFakeDataTest, FidSeparatesRealFromNoise) {
  absl::StatusOr<FeatureStats> real =
      RealFeatureStats(*classifier_, test_->images, Range::kMinusOneOne);
  ASSERT_TRUE(real.ok());
  // Another sample of the same distribution: the training images.
  absl::StatusOr<QualityMetrics> same_distribution =
      ComputeQualityMetrics(*classifier_, *real, train_->images, Range::kMinusOneOne);
  ASSERT_TRUE(same_distribution.ok());
  torch::manual_seed(5);
  const torch::Tensor noise = torch::rand({500, 1, 28, 28}) * 2 - 1;
  absl::StatusOr<QualityMetrics> noisy =
      ComputeQualityMetrics(*classifier_, *real, noise, Range::kMinusOneOne);
  ASSERT_TRUE(noisy.ok());
  EXPECT_GT(noisy->fid, 10 * same_distribution->fid);
  EXPECT_GT(noisy->fid, 1.0);
}

TEST_F(QualityFakeDataTest, ModeCoverageOfOneClassAndOfBalancedSets) {
  const torch::Tensor threes =
      test_->images.index_select(0, test_->labels.eq(3).nonzero().flatten());
  ASSERT_GT(threes.size(0), 10);
  absl::StatusOr<QualityMetrics> one_class = ComputeQualityMetrics(
      *classifier_, test_->images, Range::kMinusOneOne, threes, Range::kMinusOneOne);
  ASSERT_TRUE(one_class.ok()) << one_class.status();
  EXPECT_EQ(one_class->mode_coverage, 1);
  EXPECT_GT(one_class->class_kl, 0.9 * std::log(10.0));
  EXPECT_EQ(one_class->class_counts.size(), 10u);

  absl::StatusOr<QualityMetrics> balanced = ComputeQualityMetrics(
      *classifier_, test_->images, Range::kMinusOneOne, train_->images, Range::kMinusOneOne);
  ASSERT_TRUE(balanced.ok());
  EXPECT_EQ(balanced->mode_coverage, 10);
  EXPECT_LT(balanced->class_kl, 0.05);
}

TEST_F(QualityFakeDataTest, RangesAreConvertedToTheClassifierInput) {
  absl::StatusOr<ClassifierOutputs> from_u8 =
      RunEvalClassifier(*classifier_, test_->images, Range::kMinusOneOne);
  absl::StatusOr<ClassifierOutputs> from_zero_one = RunEvalClassifier(
      *classifier_, Normalize(test_->images, Range::kZeroOne), Range::kZeroOne, /*batch_size=*/77);
  absl::StatusOr<ClassifierOutputs> from_minus_one_one = RunEvalClassifier(
      *classifier_, Normalize(test_->images, Range::kMinusOneOne), Range::kMinusOneOne);
  ASSERT_TRUE(from_u8.ok() && from_zero_one.ok() && from_minus_one_one.ok());
  EXPECT_TRUE(torch::allclose(from_u8->features, from_zero_one->features, 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(from_u8->features, from_minus_one_one->features, 1e-4, 1e-4));
  EXPECT_TRUE(torch::equal(from_u8->predictions, from_minus_one_one->predictions));
}

TEST_F(QualityFakeDataTest, WrongShapesAreErrors) {
  EXPECT_EQ(RunEvalClassifier(*classifier_, torch::zeros({4, 3, 32, 32}), Range::kZeroOne)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RunEvalClassifier(*classifier_, torch::zeros({0, 1, 28, 28}), Range::kZeroOne)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<FeatureStats> real =
      RealFeatureStats(*classifier_, test_->images, Range::kMinusOneOne);
  ASSERT_TRUE(real.ok());
  EXPECT_EQ(
      ComputeQualityMetrics(*classifier_, *real, torch::zeros({1, 1, 28, 28}), Range::kZeroOne)
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
}

// ---- Real MNIST (skipped when absent) ----------------------------------------

TEST(QualityRealMnistTest, BrieflyTrainedClassifierSeesEveryDigit) {
  const char* env = std::getenv("GRIDRUN_SHARED_DATA");
  const std::string data_dir = env != nullptr ? env : "";
  const std::string mnist = data_dir + "/mnist";
  if (data_dir.empty() || !std::filesystem::exists(mnist + "/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "real MNIST not found at " << mnist;
  }
  const auto start = std::chrono::steady_clock::now();
  ClassifierTrainOptions options;
  options.epochs = 1;
  options.batch_size = 50;
  options.learning_rate = 2e-3;
  options.max_steps = 150;
  options.train_limit = 7500;
  options.test_limit = 1000;
  options.num_threads = 2;
  options.use_cache = false;  // the shared data dir is read-only
  ClassifierRecord record;
  absl::StatusOr<EvalClassifier> classifier =
      LoadOrTrainEvalClassifier("mnist", data_dir, options, &record);
  ASSERT_TRUE(classifier.ok()) << classifier.status();
  EXPECT_GT(record.test_accuracy, 0.9);
  absl::StatusOr<Dataset> test = LoadDataset("mnist", data_dir, Split::kTest, 2000);
  ASSERT_TRUE(test.ok()) << test.status();
  const torch::Tensor first = test->images.slice(0, 0, 1000);
  const torch::Tensor second = test->images.slice(0, 1000, 2000);
  absl::StatusOr<QualityMetrics> metrics =
      ComputeQualityMetrics(*classifier, first, Range::kMinusOneOne, second, Range::kMinusOneOne);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_EQ(metrics->mode_coverage, 10);
  EXPECT_LT(metrics->class_kl, 0.05);
  const torch::Tensor noise = torch::rand({1000, 1, 28, 28}) * 2 - 1;
  absl::StatusOr<QualityMetrics> noisy =
      ComputeQualityMetrics(*classifier, first, Range::kMinusOneOne, noise, Range::kMinusOneOne);
  ASSERT_TRUE(noisy.ok());
  EXPECT_GT(noisy->fid, 10 * metrics->fid);
  RecordProperty(
      "seconds",
      std::to_string(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()));
}

}  // namespace quality_metrics_test
}  // namespace
}  // namespace gridrun::models
