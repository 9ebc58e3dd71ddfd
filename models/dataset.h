// Training data: MNIST, Fashion-MNIST and CIFAR-10 decoded once into one
// contiguous uint8 tensor, plus the rank sharding and batching the
// data-parallel trainers use.
//
// On-disk layout, file formats and DefaultDataDir() ($GRIDRUN_DATA_DIR, else
// ~/.cache/gridrun/data): models/idx_reader.h, models/cifar_reader.h.
// Images stay uint8 [N,C,H,W] in memory (4x smaller than float); Normalize or
// BatchIterator turns a batch into float in the range a model expects.
//
// Thread-safety: LoadDataset, Normalize, EpochPermutation and ShardIndices
// keep no shared state and may run concurrently. A Dataset is immutable after
// loading and may be shared read-only. A BatchIterator belongs to one thread.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model_catalog.h"
#include "models/idx_reader.h"

namespace gridrun::models {

enum class Split { kTrain, kTest };

// "train" / "test".
const char* SplitName(Split split);

// Value range of float images. Generators with tanh outputs and the
// evaluation classifier use kMinusOneOne; VAEs with sigmoid outputs and BCE
// reconstruction use kZeroOne.
enum class Range {
  kZeroOne,      // pixel / 255
  kMinusOneOne,  // pixel / 127.5 - 1
};

struct Dataset {
  torch::Tensor images;  // uint8 [N, C, H, W], contiguous, CPU
  torch::Tensor labels;  // int64 [N], values in [0, info.num_classes)
  DatasetInfo info;      // catalog entry (channels, size, classes)

  int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

// Loads one split of a catalog data set ("mnist", "fashion-mnist",
// "cifar10") from `data_dir` (see DefaultDataDir()).
//  - IDX data sets read <dir>/{train|t10k}-images-idx3-ubyte[.gz] and the
//    matching labels-idx1 file.
//  - cifar10 train reads whichever of data_batch_1..5.bin[.gz] are present,
//    in order; test reads test_batch.bin[.gz].
// `limit` > 0 keeps only the first `limit` images (the whole set if it has
// fewer); 0 keeps all. IDX files are still read to the end to check their
// size; CIFAR batches after the one that reaches `limit` are not opened.
// Errors name the file and what was expected:
//   INVALID_ARGUMENT: unknown data set, negative limit, bad magic, truncated
//     or oversized file, wrong image dimensions for the data set,
//     image/label count mismatch, CIFAR size not a multiple of 3073 bytes,
//     label outside 0..num_classes-1, corrupt gzip stream (DATA_LOSS).
//   NOT_FOUND: missing files (the message lists the paths looked for).
absl::StatusOr<Dataset> LoadDataset(const std::string& name, const std::string& data_dir,
                                    Split split, int64_t limit = 0);

// uint8 images (any shape) -> float32 in `range`. Other dtypes are treated as
// 0..255 pixel values too. Allocates the result.
torch::Tensor Normalize(const torch::Tensor& images_u8, Range range);

// A permutation of [0, n) that depends only on (seed, epoch): the same on
// every rank, machine and run (splitmix64-driven Fisher-Yates, no torch RNG).
std::vector<int64_t> EpochPermutation(int64_t n, uint64_t seed, int64_t epoch);

// The examples rank `rank` of `world` trains on in epoch `epoch`:
//  1. perm = EpochPermutation(n, seed, epoch), identical on every rank;
//  2. perm is cut into n / global_batch full global batches; the last partial
//     global batch (n % global_batch examples) is dropped for this epoch (a
//     different tail each epoch, since the permutation changes);
//  3. each global batch of B = global_batch examples is split into contiguous
//     per-rank slices: rank r takes B / world examples, plus one if
//     r < B % world, starting at r * (B / world) + min(r, B % world).
// So the ranks' slices are disjoint and together are exactly the global
// batch. Returns int64 [num_batches, local_batch(rank)] (num_batches is 0 when
// n < global_batch). INVALID_ARGUMENT unless n >= 0, world >= 1,
// 0 <= rank < world, global_batch >= world, epoch >= 0.
absl::StatusOr<torch::Tensor> ShardIndices(int64_t n, int64_t global_batch, int rank, int world,
                                           uint64_t seed, int64_t epoch);

// The local batch size of `rank` (rule 3 above).
int64_t LocalBatchSize(int64_t global_batch, int rank, int world);

// Yields one rank's batches of an epoch as float images in `range` and int64
// labels, reusing two preallocated buffers: each step costs one index_select
// into the uint8 buffer and an in-place conversion, no other allocation.
//
// The tensors Next() returns are views of those buffers and are overwritten
// by the following Next(): clone() anything that must outlive the step.
// `dataset` must outlive the iterator.
class BatchIterator {
 public:
  // `shard` is ShardIndices(...) for this rank and epoch. `device` is where
  // the float images and labels are put (the uint8 gather stays on CPU).
  BatchIterator(const Dataset& dataset, torch::Tensor shard, Range range,
                torch::Device device = torch::kCPU);

  // Fills *images (float [b,C,H,W]) and *labels (int64 [b]) with the next
  // batch; returns false (leaving them untouched) after the last batch.
  bool Next(torch::Tensor* images, torch::Tensor* labels);

  // Starts over with another epoch's shard (the buffers are reallocated only
  // if its local batch size differs).
  void Reset(torch::Tensor shard);

  int64_t num_batches() const { return shard_.size(0); }
  int64_t position() const { return next_; }

 private:
  const Dataset* dataset_;
  torch::Tensor shard_;
  Range range_;
  torch::Device device_;
  int64_t next_ = 0;
  torch::Tensor gather_u8_;   // [b,C,H,W] uint8, CPU
  torch::Tensor labels_cpu_;  // [b] int64, CPU
  torch::Tensor images_;      // [b,C,H,W] float32 on device_
  torch::Tensor labels_;      // [b] int64 on device_
};

}  // namespace gridrun::models
