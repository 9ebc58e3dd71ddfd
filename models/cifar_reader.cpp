#include "models/cifar_reader.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "models/idx_reader.h"

namespace gridrun::models {
namespace {

// The largest expansion deflate allows (RFC 1951: 258 bytes from 2 bits).
constexpr int64_t kMaxDeflateRatio = 1032;

}  // namespace

std::vector<std::string> CifarTrainBatchNames() {
  std::vector<std::string> names;
  for (int i = 1; i <= kCifarTrainBatches; ++i) {
    names.push_back(absl::StrCat("data_batch_", i, ".bin"));
  }
  return names;
}

absl::StatusOr<CifarBatch> ReadCifarBatch(const std::string& path) {
  ASSIGN_OR_RETURN(DataFile file, DataFile::Open(path));
  CifarBatch batch;
  batch.path = path;
  // Plain and gzip files alike: size the buffer from the hint, grow if needed.
  absl::StatusOr<int64_t> hint = UncompressedSizeHint(path);
  int64_t capacity = hint.ok() && *hint > 0 ? *hint + 1 : (int64_t{1} << 20);
  // A gzip trailer's size is only a claim: a corrupt 30-byte file can say
  // 4 GiB (found by fuzz/ data_readers). Deflate expands at most 1032:1, so
  // never reserve more than that bound of the bytes on disk.
  std::error_code ec;
  const uintmax_t on_disk = std::filesystem::file_size(path, ec);
  if (!ec) {
    capacity = std::min<int64_t>(capacity, static_cast<int64_t>(on_disk) * kMaxDeflateRatio + 1);
  }
  int64_t size = 0;
  while (true) {
    batch.records.resize(static_cast<size_t>(capacity));
    ASSIGN_OR_RETURN(const int64_t got, file.Read(batch.records.data() + size, capacity - size));
    size += got;
    if (size < capacity) break;
    capacity *= 2;
  }
  batch.records.resize(static_cast<size_t>(size));
  batch.records.shrink_to_fit();
  if (size % kCifarRecordBytes != 0 || size == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": size ", size, " bytes is not a positive multiple of the ",
                     kCifarRecordBytes, "-byte CIFAR-10 record (1 label + 3x32x32 pixels)"));
  }
  batch.count = size / kCifarRecordBytes;
  for (int64_t i = 0; i < batch.count; ++i) {
    const int label = batch.records[static_cast<size_t>(i * kCifarRecordBytes)];
    if (label > 9) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": record ", i, " has label ", label, ", expected 0..9"));
    }
  }
  return batch;
}

}  // namespace gridrun::models
