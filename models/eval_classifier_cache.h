// The evaluation classifier shared by every trial a worker runs: trained once
// per data set on a machine, scored against the real test images once per
// process.
//
//   1. Across processes: worker processes on one machine share the data dir,
//      so LoadOrTrainEvalClassifierLocked holds an advisory lock (flock) on
//      <data_dir>/.gridrun-cache/classifier-<dataset>.lock around
//      LoadOrTrainEvalClassifier (models/eval_classifier.h): the first process
//      trains and writes the on-disk cache while the others wait for the lock,
//      then load that cache instead of training again. Where the lock file
//      cannot be created (e.g. a read-only data dir) it goes on without the
//      lock: the cache files are still written atomically, at worst two
//      processes train the same classifier.
//   2. In a process: CachedQualityScorer keeps the classifier and the real
//      test images' feature statistics per (data set, data dir, test set
//      size), so every later trial of the process reuses them.
//
// Thread-safety: both functions may be called from any thread; one mutex
// serializes CachedQualityScorer calls (held while a classifier trains). A
// QualityScorer itself is not thread-safe: one thread at a time uses it (the
// training thread of the worker).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "models/dataset.h"
#include "models/eval_classifier.h"
#include "models/quality_metrics.h"

namespace gridrun::models {

// What scoring generated images of one data set needs.
struct QualityScorer {
  EvalClassifier classifier{nullptr};
  FeatureStats real;  // RealFeatureStats of the test images
};

// The lock file that serializes training of `dataset`'s classifier across
// processes: <data_dir>/.gridrun-cache/classifier-<dataset>.lock.
std::string ClassifierLockPath(const std::string& data_dir, const std::string& dataset);

// LoadOrTrainEvalClassifier(dataset, data_dir, options, record) while holding
// the exclusive lock on ClassifierLockPath(data_dir, dataset), creating the
// file (and its directory) if needed; blocks while another process holds it.
// Same results and errors as LoadOrTrainEvalClassifier; failing to create or
// lock the lock file is not an error (logged, and the call goes on unlocked).
absl::StatusOr<EvalClassifier> LoadOrTrainEvalClassifierLocked(
    const std::string& dataset, const std::string& data_dir,
    const ClassifierTrainOptions& options = {}, ClassifierRecord* record = nullptr);

// The process-wide scorer for `dataset` read from `data_dir`, whose `test`
// split (as the caller loaded it) gives the real statistics. The first call
// for a (dataset, data_dir, test.size()) loads or trains the classifier
// (LoadOrTrainEvalClassifierLocked, training with at::get_num_threads()
// threads; logs the training time and accuracy when it trained) and fits the
// real features; later calls return the same object, which lives until the
// process exits. Errors: those of LoadOrTrainEvalClassifier and
// RealFeatureStats; nothing is cached after an error, so the next call tries
// again.
absl::StatusOr<QualityScorer*> CachedQualityScorer(const std::string& dataset,
                                                   const std::string& data_dir,
                                                   const Dataset& test);

}  // namespace gridrun::models
