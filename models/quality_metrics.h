// Sample-quality metrics of generated images, measured with the data set's
// evaluation classifier (models/eval_classifier.h):
//
//  - fid: the Fréchet distance between Gaussian fits (mean, unbiased
//    covariance) of the classifier's 128-d penultimate features on real test
//    images and on generated images. This is a *classifier-feature FID*, not
//    the Inception-v3 FID of the literature: values are comparable across
//    trials of one data set (same cached classifier), not with published FIDs.
//  - mode_coverage: how many classes receive at least half their fair share
//    of the predicted labels, i.e. count_k >= N / num_classes / 2. 10 means
//    every digit is generated; the seeds found 5 and 8 missing.
//  - class_kl: KL(predicted-class histogram || uniform) = sum_k p_k log(p_k K)
//    (natural log; 0 for a balanced histogram, log K for a single class).
//
// Image conventions: the classifier takes [-1, 1]. Pass generated images with
// their Range: tanh generators produce kMinusOneOne (used as is), sigmoid VAE
// decoders kZeroOne (converted with x * 2 - 1); uint8 images (e.g.
// Dataset::images) are converted from 0..255. See ClassifierInput().
//
// Real-image statistics do not change during a trial: compute them once with
// RealFeatureStats and pass them to every ComputeQualityMetrics call.
//
// Thread-safety: pure functions of their arguments; an EvalClassifier must
// not be used by two threads at once.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "models/dataset.h"
#include "models/eval_classifier.h"

namespace gridrun::models {

// Gaussian fit of a feature set, in float64.
struct FeatureStats {
  torch::Tensor mean;  // [D]
  torch::Tensor cov;   // [D, D], unbiased (divides by N - 1)
  int64_t count = 0;
};

// Classifier outputs for a set of images.
struct ClassifierOutputs {
  torch::Tensor features;     // float32 [N, 128]
  torch::Tensor predictions;  // int64 [N], argmax class
};

// Runs the classifier (eval mode, no grad, batches of `batch_size`) over
// images [N, C, H, W] in `range` (any device; computed on the classifier's
// CPU). INVALID_ARGUMENT if the shape does not fit the classifier or N == 0;
// INTERNAL on torch errors.
absl::StatusOr<ClassifierOutputs> RunEvalClassifier(EvalClassifier& classifier,
                                                    const torch::Tensor& images, Range range,
                                                    int64_t batch_size = 500);

// Mean and unbiased covariance of features [N, D] in float64.
// INVALID_ARGUMENT unless features is 2-D with N >= 2.
absl::StatusOr<FeatureStats> FitGaussian(const torch::Tensor& features);

// Convenience: RunEvalClassifier + FitGaussian on real images.
absl::StatusOr<FeatureStats> RealFeatureStats(EvalClassifier& classifier,
                                              const torch::Tensor& images, Range range);

// ||mu1 - mu2||^2 + tr(s1) + tr(s2) - 2 tr((s1^1/2 s2 s1^1/2)^1/2), in
// float64. Both matrix square roots come from torch::linalg_eigh of symmetric
// matrices, with eigenvalues clamped at 0 (covariances are PSD up to rounding),
// which equals tr((s1 s2)^1/2) of the usual formula. The result is clamped at
// 0. INVALID_ARGUMENT for mismatched or non-square shapes; INTERNAL on torch
// errors.
absl::StatusOr<double> FrechetDistance(const torch::Tensor& mu1, const torch::Tensor& sigma1,
                                       const torch::Tensor& mu2, const torch::Tensor& sigma2);

// Classes k with counts[k] * 2 * K >= N (K = counts.size(), N = sum); 0 for
// an empty histogram.
int ModeCoverage(const std::vector<int64_t>& counts);

// KL(counts / N || uniform over K) in nats; 0 for an empty histogram.
double ClassKl(const std::vector<int64_t>& counts);

struct QualityMetrics {
  double fid = 0;
  int mode_coverage = 0;
  double class_kl = 0;
  std::vector<int64_t> class_counts;  // predicted-label histogram, num_classes long
  int64_t count = 0;                  // generated images scored
};

// Scores `generated` (at least 2 images) against the real statistics.
// Errors as RunEvalClassifier / FitGaussian / FrechetDistance.
absl::StatusOr<QualityMetrics> ComputeQualityMetrics(EvalClassifier& classifier,
                                                     const FeatureStats& real,
                                                     const torch::Tensor& generated,
                                                     Range generated_range);

// One-shot form: fits the real images first (prefer the form above in loops).
absl::StatusOr<QualityMetrics> ComputeQualityMetrics(EvalClassifier& classifier,
                                                     const torch::Tensor& real_images,
                                                     Range real_range,
                                                     const torch::Tensor& generated,
                                                     Range generated_range);

}  // namespace gridrun::models
