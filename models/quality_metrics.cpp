#include "models/quality_metrics.h"

#include <torch/linalg.h>

#include <algorithm>
#include <cmath>
#include <exception>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "models/torch_errors.h"

namespace gridrun::models {
namespace {

std::string ShapeString(const torch::Tensor& t) {
  std::string out = "[";
  for (int64_t i = 0; i < t.dim(); ++i) absl::StrAppend(&out, i > 0 ? ", " : "", t.size(i));
  return out + "]";
}

// Square root of a symmetric PSD matrix (float64) via its eigen-decomposition.
torch::Tensor SqrtSymmetric(const torch::Tensor& m) {
  auto [values, vectors] = torch::linalg::eigh(m, "L");
  return (vectors * values.clamp_min(0).sqrt().unsqueeze(0)).matmul(vectors.transpose(0, 1));
}

}  // namespace

absl::StatusOr<ClassifierOutputs> RunEvalClassifier(EvalClassifier& classifier,
                                                    const torch::Tensor& images, Range range,
                                                    int64_t batch_size) {
  if (!images.defined() || images.dim() != 4 || images.size(0) == 0 ||
      images.size(1) != classifier->channels() || images.size(2) != classifier->image_size() ||
      images.size(3) != classifier->image_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("eval classifier takes [N>0, ", classifier->channels(), ", ",
                     classifier->image_size(), ", ", classifier->image_size(), "] images, got ",
                     images.defined() ? ShapeString(images) : std::string("an undefined tensor")));
  }
  if (batch_size < 1) return absl::InvalidArgumentError("batch_size must be >= 1");
  try {
    torch::NoGradGuard no_grad;
    const bool was_training = classifier->is_training();
    classifier->eval();
    const int64_t n = images.size(0);
    ClassifierOutputs out;
    out.features = torch::empty({n, EvalClassifierImpl::kFeatureDim}, torch::kFloat32);
    out.predictions = torch::empty({n}, torch::kInt64);
    for (int64_t begin = 0; begin < n; begin += batch_size) {
      const int64_t end = std::min(begin + batch_size, n);
      const torch::Tensor x =
          ClassifierInput(images.slice(0, begin, end).detach().to(torch::kCPU), range);
      const torch::Tensor f = classifier->features(x);
      out.features.slice(0, begin, end).copy_(f);
      out.predictions.slice(0, begin, end).copy_(classifier->classify(f).argmax(1));
    }
    classifier->train(was_training);
    return out;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("running the eval classifier: ", TorchMessage(e)));
  }
}

absl::StatusOr<FeatureStats> FitGaussian(const torch::Tensor& features) {
  if (!features.defined() || features.dim() != 2 || features.size(0) < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a Gaussian fit needs features [N>=2, D], got ",
        features.defined() ? ShapeString(features) : std::string("an undefined tensor")));
  }
  try {
    const torch::Tensor x = features.detach().to(torch::kCPU, torch::kFloat64);
    FeatureStats stats;
    stats.count = x.size(0);
    stats.mean = x.mean(0);
    const torch::Tensor centered = x - stats.mean;
    stats.cov = centered.transpose(0, 1).matmul(centered) / static_cast<double>(stats.count - 1);
    return stats;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("fitting a Gaussian: ", TorchMessage(e)));
  }
}

absl::StatusOr<FeatureStats> RealFeatureStats(EvalClassifier& classifier,
                                              const torch::Tensor& images, Range range) {
  ASSIGN_OR_RETURN(const ClassifierOutputs outputs, RunEvalClassifier(classifier, images, range));
  return FitGaussian(outputs.features);
}

absl::StatusOr<double> FrechetDistance(const torch::Tensor& mu1, const torch::Tensor& sigma1,
                                       const torch::Tensor& mu2, const torch::Tensor& sigma2) {
  const bool defined = mu1.defined() && mu2.defined() && sigma1.defined() && sigma2.defined();
  if (!defined || mu1.dim() != 1 || mu2.dim() != 1 || mu1.size(0) != mu2.size(0) ||
      sigma1.dim() != 2 || sigma2.dim() != 2 || sigma1.size(0) != mu1.size(0) ||
      sigma1.size(1) != mu1.size(0) || sigma2.size(0) != mu1.size(0) ||
      sigma2.size(1) != mu1.size(0)) {
    return absl::InvalidArgumentError(
        defined ? absl::StrCat("Frechet distance needs mu [D] and sigma [D, D] for both sets, "
                               "got mu1 ",
                               ShapeString(mu1), " sigma1 ", ShapeString(sigma1), " mu2 ",
                               ShapeString(mu2), " sigma2 ", ShapeString(sigma2))
                : std::string("Frechet distance: undefined tensor"));
  }
  try {
    const auto f64 = [](const torch::Tensor& t) {
      return t.detach().to(torch::kCPU, torch::kFloat64);
    };
    const torch::Tensor m1 = f64(mu1);
    const torch::Tensor m2 = f64(mu2);
    const torch::Tensor s1 = f64(sigma1);
    const torch::Tensor s2 = f64(sigma2);
    const torch::Tensor s1_half = SqrtSymmetric((s1 + s1.transpose(0, 1)) * 0.5);
    torch::Tensor product = s1_half.matmul(s2).matmul(s1_half);
    product = (product + product.transpose(0, 1)) * 0.5;
    const torch::Tensor eigenvalues = torch::linalg::eigvalsh(product, "L");
    const double trace_sqrt = eigenvalues.clamp_min(0).sqrt().sum().item<double>();
    const double mean_term = (m1 - m2).pow(2).sum().item<double>();
    const double fid =
        mean_term + s1.trace().item<double>() + s2.trace().item<double>() - 2.0 * trace_sqrt;
    if (!std::isfinite(fid)) {
      return absl::InvalidArgumentError("Frechet distance is not finite (NaN or Inf inputs)");
    }
    return std::max(fid, 0.0);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("Frechet distance: ", TorchMessage(e)));
  }
}

int ModeCoverage(const std::vector<int64_t>& counts) {
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  if (total == 0) return 0;
  const auto k = static_cast<int64_t>(counts.size());
  int covered = 0;
  for (int64_t c : counts) {
    if (c * 2 * k >= total) ++covered;
  }
  return covered;
}

double ClassKl(const std::vector<int64_t>& counts) {
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  if (total == 0) return 0;
  const auto k = static_cast<double>(counts.size());
  double kl = 0;
  for (int64_t c : counts) {
    if (c == 0) continue;
    const double p = static_cast<double>(c) / static_cast<double>(total);
    kl += p * std::log(p * k);
  }
  return std::max(kl, 0.0);
}

absl::StatusOr<QualityMetrics> ComputeQualityMetrics(EvalClassifier& classifier,
                                                     const FeatureStats& real,
                                                     const torch::Tensor& generated,
                                                     Range generated_range) {
  ASSIGN_OR_RETURN(const ClassifierOutputs outputs,
                   RunEvalClassifier(classifier, generated, generated_range));
  ASSIGN_OR_RETURN(const FeatureStats fake, FitGaussian(outputs.features));
  QualityMetrics metrics;
  ASSIGN_OR_RETURN(metrics.fid, FrechetDistance(real.mean, real.cov, fake.mean, fake.cov));
  metrics.count = outputs.predictions.size(0);
  metrics.class_counts.assign(static_cast<size_t>(classifier->num_classes()), 0);
  const int64_t* predicted = outputs.predictions.data_ptr<int64_t>();
  for (int64_t i = 0; i < metrics.count; ++i) ++metrics.class_counts[predicted[i]];
  metrics.mode_coverage = ModeCoverage(metrics.class_counts);
  metrics.class_kl = ClassKl(metrics.class_counts);
  return metrics;
}

absl::StatusOr<QualityMetrics> ComputeQualityMetrics(EvalClassifier& classifier,
                                                     const torch::Tensor& real_images,
                                                     Range real_range,
                                                     const torch::Tensor& generated,
                                                     Range generated_range) {
  ASSIGN_OR_RETURN(const FeatureStats real, RealFeatureStats(classifier, real_images, real_range));
  return ComputeQualityMetrics(classifier, real, generated, generated_range);
}

}  // namespace gridrun::models
