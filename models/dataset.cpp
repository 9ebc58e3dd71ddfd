#include "models/dataset.h"

#include <algorithm>
#include <exception>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "models/cifar_reader.h"
#include "models/torch_errors.h"

namespace gridrun::models {
namespace {

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Uniform in [0, bound), bound >= 1, without modulo bias.
uint64_t Bounded(uint64_t& state, uint64_t bound) {
  const uint64_t threshold = (0 - bound) % bound;
  while (true) {
    const uint64_t r = SplitMix64(state);
    if (r >= threshold) return r % bound;
  }
}

// Checks labels (uint8) are < num_classes and converts them to int64.
absl::StatusOr<torch::Tensor> CheckedLabels(const torch::Tensor& labels_u8, int num_classes,
                                            const std::string& path) {
  const uint8_t* p = labels_u8.data_ptr<uint8_t>();
  const int64_t n = labels_u8.numel();
  for (int64_t i = 0; i < n; ++i) {
    if (p[i] >= num_classes) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": label ", int{p[i]}, " at index ", i,
                                                     " is out of range 0..", num_classes - 1));
    }
  }
  return labels_u8.to(torch::kInt64);
}

absl::StatusOr<Dataset> LoadIdxDataset(const DatasetInfo& info, const std::string& dir, Split split,
                                       int64_t limit) {
  const std::string name(info.name);
  const std::string prefix = split == Split::kTrain ? "train" : "t10k";
  const std::string what = absl::StrCat(name, " ", SplitName(split));
  ASSIGN_OR_RETURN(const std::string images_path,
                   FindDataFile(dir, prefix + "-images-idx3-ubyte", what + " images"));
  ASSIGN_OR_RETURN(const std::string labels_path,
                   FindDataFile(dir, prefix + "-labels-idx1-ubyte", what + " labels"));

  ASSIGN_OR_RETURN(DataFile images_file, DataFile::Open(images_path));
  ASSIGN_OR_RETURN(const IdxHeader images_header, ReadIdxHeader(images_file, IdxKind::kImages));
  if (images_header.rows != info.height || images_header.cols != info.width) {
    return absl::InvalidArgumentError(absl::StrCat(
        images_path, ": header says images of ", images_header.rows, "x", images_header.cols,
        ", expected ", info.height, "x", info.width, " for ", name));
  }
  ASSIGN_OR_RETURN(DataFile labels_file, DataFile::Open(labels_path));
  ASSIGN_OR_RETURN(const IdxHeader labels_header, ReadIdxHeader(labels_file, IdxKind::kLabels));
  if (images_header.count != labels_header.count) {
    return absl::InvalidArgumentError(absl::StrCat(images_path, " has ", images_header.count,
                                                   " images but ", labels_path, " has ",
                                                   labels_header.count, " labels"));
  }

  // Before allocating: a corrupt count must not allocate gigabytes.
  RETURN_IF_ERROR(CheckIdxFitsFile(images_path, images_header));
  RETURN_IF_ERROR(CheckIdxFitsFile(labels_path, labels_header));
  const int64_t take = limit > 0 ? std::min(limit, images_header.count) : images_header.count;
  Dataset dataset;
  dataset.info = info;
  dataset.images = torch::empty({take, info.channels, info.height, info.width}, torch::kUInt8);
  RETURN_IF_ERROR(
      ReadIdxPayload(images_file, images_header, take, dataset.images.data_ptr<uint8_t>()));
  torch::Tensor labels_u8 = torch::empty({take}, torch::kUInt8);
  RETURN_IF_ERROR(ReadIdxPayload(labels_file, labels_header, take, labels_u8.data_ptr<uint8_t>()));
  ASSIGN_OR_RETURN(dataset.labels, CheckedLabels(labels_u8, info.num_classes, labels_path));
  return dataset;
}

absl::StatusOr<Dataset> LoadCifarDataset(const DatasetInfo& info, const std::string& dir,
                                         Split split, int64_t limit) {
  std::vector<std::string> paths;
  if (split == Split::kTrain) {
    std::vector<std::string> looked_for;
    for (const std::string& base : CifarTrainBatchNames()) {
      absl::StatusOr<std::string> path = FindDataFile(dir, base, "cifar10 train batch");
      if (path.ok()) paths.push_back(*path);
      looked_for.push_back((std::filesystem::path(dir) / (base + "[.gz]")).string());
    }
    if (paths.empty()) {
      std::string list;
      for (const std::string& p : looked_for) absl::StrAppend(&list, list.empty() ? "" : ", ", p);
      return absl::NotFoundError(
          absl::StrCat("cifar10 train batches not found: looked for ", list));
    }
  } else {
    ASSIGN_OR_RETURN(std::string path,
                     FindDataFile(dir, kCifarTestBatchName, "cifar10 test batch"));
    paths.push_back(std::move(path));
  }

  std::vector<CifarBatch> batches;
  int64_t total = 0;
  for (const std::string& path : paths) {
    if (limit > 0 && total >= limit) break;
    ASSIGN_OR_RETURN(CifarBatch batch, ReadCifarBatch(path));
    total += batch.count;
    batches.push_back(std::move(batch));
  }
  const int64_t take = limit > 0 ? std::min(limit, total) : total;
  Dataset dataset;
  dataset.info = info;
  dataset.images = torch::empty({take, 3, 32, 32}, torch::kUInt8);
  dataset.labels = torch::empty({take}, torch::kInt64);
  uint8_t* images = dataset.images.data_ptr<uint8_t>();
  int64_t* labels = dataset.labels.data_ptr<int64_t>();
  int64_t out = 0;
  for (CifarBatch& batch : batches) {
    for (int64_t i = 0; i < batch.count && out < take; ++i, ++out) {
      labels[out] = CopyCifarRecord(batch, i, images + out * kCifarImageBytes);
    }
    batch.records = {};  // free as we go
  }
  return dataset;
}

}  // namespace

const char* SplitName(Split split) { return split == Split::kTrain ? "train" : "test"; }

absl::StatusOr<Dataset> LoadDataset(const std::string& name, const std::string& data_dir,
                                    Split split, int64_t limit) {
  const DatasetInfo* info = FindDataset(name);
  if (info == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown dataset '", name, "'; allowed: ", DatasetNames()));
  }
  if (limit < 0) {
    return absl::InvalidArgumentError(absl::StrCat("limit must be >= 0, got ", limit));
  }
  const std::string dir = (std::filesystem::path(data_dir) / DatasetDirName(name)).string();
  try {
    if (IsIdxDataset(name)) return LoadIdxDataset(*info, dir, split, limit);
    return LoadCifarDataset(*info, dir, split, limit);
  } catch (const std::exception& e) {
    return absl::ResourceExhaustedError(absl::StrCat("loading ", name, " ", SplitName(split),
                                                     " from ", dir, ": ", TorchMessage(e)));
  }
}

torch::Tensor Normalize(const torch::Tensor& images_u8, Range range) {
  torch::Tensor x = images_u8.to(torch::kFloat32);
  if (range == Range::kZeroOne) return x.div_(255.0);
  return x.div_(127.5).sub_(1.0);
}

std::vector<int64_t> EpochPermutation(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> perm(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) perm[static_cast<size_t>(i)] = i;
  uint64_t mix = seed;
  uint64_t state = SplitMix64(mix) ^ (static_cast<uint64_t>(epoch) * 0xd1b54a32d192ed03ULL);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(Bounded(state, static_cast<uint64_t>(i) + 1));
    std::swap(perm[static_cast<size_t>(i)], perm[static_cast<size_t>(j)]);
  }
  return perm;
}

int64_t LocalBatchSize(int64_t global_batch, int rank, int world) {
  return global_batch / world + (rank < global_batch % world ? 1 : 0);
}

absl::StatusOr<torch::Tensor> ShardIndices(int64_t n, int64_t global_batch, int rank, int world,
                                           uint64_t seed, int64_t epoch) {
  if (n < 0 || world < 1 || rank < 0 || rank >= world || global_batch < world || epoch < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ShardIndices: need n >= 0, world >= 1, 0 <= rank < world, global_batch >= world and "
        "epoch >= 0; got n=",
        n, " global_batch=", global_batch, " rank=", rank, " world=", world, " epoch=", epoch));
  }
  const std::vector<int64_t> perm = EpochPermutation(n, seed, epoch);
  const int64_t num_batches = n / global_batch;
  const int64_t base = global_batch / world;
  const int64_t extra = global_batch % world;
  const int64_t local = LocalBatchSize(global_batch, rank, world);
  const int64_t offset = rank * base + std::min<int64_t>(rank, extra);
  torch::Tensor shard = torch::empty({num_batches, local}, torch::kInt64);
  int64_t* out = shard.data_ptr<int64_t>();
  for (int64_t b = 0; b < num_batches; ++b) {
    const int64_t* src = perm.data() + b * global_batch + offset;
    std::copy(src, src + local, out + b * local);
  }
  return shard;
}

BatchIterator::BatchIterator(const Dataset& dataset, torch::Tensor shard, Range range,
                             torch::Device device)
    : dataset_(&dataset), range_(range), device_(device) {
  Reset(std::move(shard));
}

bool BatchIterator::Next(torch::Tensor* images, torch::Tensor* labels) {
  if (next_ >= shard_.size(0)) return false;
  const torch::Tensor index = shard_.select(0, next_++);
  torch::index_select_out(gather_u8_, dataset_->images, 0, index);
  torch::index_select_out(labels_cpu_, dataset_->labels, 0, index);
  images_.copy_(gather_u8_);
  if (range_ == Range::kZeroOne) {
    images_.div_(255.0);
  } else {
    images_.div_(127.5).sub_(1.0);
  }
  if (!device_.is_cpu()) labels_.copy_(labels_cpu_);
  *images = images_;
  *labels = labels_;
  return true;
}

void BatchIterator::Reset(torch::Tensor shard) {
  shard_ = std::move(shard);
  next_ = 0;
  const int64_t local = shard_.size(1);
  if (gather_u8_.defined() && gather_u8_.size(0) == local) return;
  const DatasetInfo& info = dataset_->info;
  gather_u8_ = torch::empty({local, info.channels, info.height, info.width}, torch::kUInt8);
  labels_cpu_ = torch::empty({local}, torch::kInt64);
  images_ = torch::empty({local, info.channels, info.height, info.width},
                         torch::TensorOptions().dtype(torch::kFloat32).device(device_));
  labels_ =
      device_.is_cpu()
          ? labels_cpu_
          : torch::empty({local}, torch::TensorOptions().dtype(torch::kInt64).device(device_));
}

}  // namespace gridrun::models
