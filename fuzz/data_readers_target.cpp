// Fuzz target: the data set file readers (models/idx_reader.h,
// models/cifar_reader.h), fed whole files, plain or gzip-compressed.
//
// The readers take paths (zlib's gzopen detects gzip by content), so each
// input is written to a file in a per-process scratch directory first.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_targets.h"
#include "models/cifar_reader.h"
#include "models/idx_reader.h"

namespace gridrun::fuzz {
namespace {

// The loaders read at most this many payload bytes per input here; the
// real loaders take the caller's `limit` (0 = all) in the same way.
constexpr int64_t kMaxTakeBytes = 1 << 20;

class ScratchFile {
 public:
  ScratchFile() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "gridrun-fuzz-XXXXXX").string();
    FuzzCheck(mkdtemp(pattern.data()) != nullptr, "cannot create a scratch directory");
    dir_ = pattern;
    path_ = dir_ + "/input";
  }
  ~ScratchFile() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::string& Write(const uint8_t* data, size_t size) {
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    FuzzCheck(f != nullptr, "cannot write the scratch file");
    FuzzCheck(size == 0 || std::fwrite(data, 1, size, f) == size, "short write");
    FuzzCheck(std::fclose(f) == 0, "cannot close the scratch file");
    return path_;
  }

 private:
  std::string dir_;
  std::string path_;
};

void FuzzIdx(const std::string& path, models::IdxKind kind) {
  absl::StatusOr<models::DataFile> file = models::DataFile::Open(path);
  FuzzCheck(file.ok(), absl::StrCat("DataFile::Open failed: ", file.status().ToString()));
  absl::StatusOr<models::IdxHeader> header = models::ReadIdxHeader(*file, kind);
  if (!header.ok()) return;
  FuzzCheck(header->count >= 0 && header->rows >= 0 && header->cols >= 0,
            "negative IDX dimension");
  const std::string described = header->Describe();
  // As models/dataset.cpp does before allocating.
  if (!models::CheckIdxFitsFile(path, *header).ok()) return;
  const int64_t item_bytes = std::max<int64_t>(header->ItemBytes(), 1);
  // As the loaders do with a limit: read the first `take` items.
  const int64_t take = std::min(header->count, kMaxTakeBytes / item_bytes);
  std::vector<uint8_t> payload(static_cast<size_t>(take * header->ItemBytes()));
  const absl::Status status = models::ReadIdxPayload(*file, *header, take, payload.data());
  if (status.ok()) {
    // `gridrun data check` compares the header with the size hint instead.
    absl::StatusOr<int64_t> hint = models::UncompressedSizeHint(path);
    FuzzCheck(hint.ok(), "UncompressedSizeHint failed on a readable file");
  }
}

void FuzzCifar(const std::string& path) {
  (void)models::UncompressedSizeHint(path);
  absl::StatusOr<models::CifarBatch> batch = models::ReadCifarBatch(path);
  if (!batch.ok()) return;
  FuzzCheck(batch->count > 0, "a valid CIFAR batch with no records");
  FuzzCheck(static_cast<int64_t>(batch->records.size()) == batch->count * models::kCifarRecordBytes,
            "CIFAR record bytes do not match the count");
  std::vector<uint8_t> image(models::kCifarImageBytes);
  for (int64_t i = 0; i < batch->count; ++i) {
    const int label = models::CopyCifarRecord(*batch, i, image.data());
    FuzzCheck(label >= 0 && label <= 9, "CIFAR label outside 0..9 accepted");
  }
}

}  // namespace

int DataReadersOneInput(const uint8_t* data, size_t size) {
  static ScratchFile scratch;  // removed at exit
  if (size == 0) return 0;
  const std::string& path = scratch.Write(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: FuzzIdx(path, models::IdxKind::kImages); break;
    case 1: FuzzIdx(path, models::IdxKind::kLabels); break;
    default: FuzzCifar(path); break;
  }
  return 0;
}

}  // namespace gridrun::fuzz
