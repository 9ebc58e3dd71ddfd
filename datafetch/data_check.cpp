// Checks the data set files under a data directory from their headers and
// sizes; see datafetch/data_check.h.
#include "datafetch/data_check.h"

#include <filesystem>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/model_catalog.h"
#include "common/status_macros.h"
#include "models/cifar_reader.h"
#include "models/idx_reader.h"

namespace gridrun::datafetch {
namespace {

namespace fs = std::filesystem;
using models::CifarTrainBatchNames;
using models::DataFile;
using models::DatasetDirName;
using models::FindDataFile;
using models::IdxHeader;
using models::IdxKind;
using models::IsIdxDataset;
using models::kCifarRecordBytes;
using models::kCifarTestBatchName;
using models::ReadIdxHeader;
using models::UncompressedSizeHint;

// The item count of a valid IDX file at `path`, or why it is not valid.
absl::StatusOr<int64_t> ValidIdxCount(const std::string& path, IdxKind kind) {
  ASSIGN_OR_RETURN(DataFile file, DataFile::Open(path));
  ASSIGN_OR_RETURN(const IdxHeader header, ReadIdxHeader(file, kind));
  if (kind == IdxKind::kImages && (header.rows != 28 || header.cols != 28)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": header says images of ", header.rows,
                                                   "x", header.cols, ", expected 28x28"));
  }
  ASSIGN_OR_RETURN(const int64_t size, UncompressedSizeHint(path));
  if (size != header.TotalBytes()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, size < header.TotalBytes() ? ": truncated" : ": size mismatch",
                     ": header says ", header.Describe(), " but file has ", size, " bytes"));
  }
  return header.count;
}

// The record count of a valid CIFAR-10 batch at `path`, or why it is not valid.
absl::StatusOr<int64_t> ValidCifarCount(const std::string& path) {
  ASSIGN_OR_RETURN(const int64_t size, UncompressedSizeHint(path));
  if (size == 0 || size % kCifarRecordBytes != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": size ", size, " bytes is not a positive multiple of the 3073-byte record"));
  }
  return size / kCifarRecordBytes;
}

// Finds <dir>/<base>[.gz] and validates it with `count` (one of the above).
template <typename CountFn>
FileCheck CheckFile(const std::string& dir, const std::string& base, CountFn count) {
  FileCheck check;
  check.name = base;
  absl::StatusOr<std::string> path = FindDataFile(dir, base, base);
  if (!path.ok()) {
    check.error = "missing";
    return check;
  }
  check.path = *path;
  check.present = true;
  absl::StatusOr<int64_t> items = count(*path);
  if (!items.ok()) {
    check.error = std::string(items.status().message());
    return check;
  }
  check.valid = true;
  check.count = *items;
  return check;
}

FileCheck CheckIdxFile(const std::string& dir, const std::string& base, IdxKind kind) {
  return CheckFile(dir, base, [kind](const std::string& path) { return ValidIdxCount(path, kind); });
}

FileCheck CheckCifarFile(const std::string& dir, const std::string& base) {
  return CheckFile(dir, base, ValidCifarCount);
}

DatasetCheck CheckIdxDataset(const std::string& name, const std::string& dir) {
  DatasetCheck ds;
  ds.name = name;
  ds.dir = dir;
  bool all_valid = true;
  for (const std::string prefix : {"train", "t10k"}) {
    FileCheck images = CheckIdxFile(dir, prefix + "-images-idx3-ubyte", IdxKind::kImages);
    FileCheck labels = CheckIdxFile(dir, prefix + "-labels-idx1-ubyte", IdxKind::kLabels);
    all_valid = all_valid && images.valid && labels.valid;
    if (images.valid && labels.valid) {
      if (images.count != labels.count) {
        all_valid = false;
        absl::StrAppend(&ds.error, ds.error.empty() ? "" : "; ", images.path, " has ", images.count,
                        " images but ", labels.path, " has ", labels.count, " labels");
      } else {
        (prefix == "train" ? ds.train_count : ds.test_count) = images.count;
      }
    }
    ds.files.push_back(std::move(images));
    ds.files.push_back(std::move(labels));
  }
  ds.usable = all_valid;
  ds.complete = all_valid;
  return ds;
}

}  // namespace

DatasetCheck CheckCifarDataset(const std::string& dir) {
  DatasetCheck ds;
  ds.name = "cifar10";
  ds.dir = dir;
  bool all_valid = true;
  bool broken_train = false;
  for (const std::string& base : CifarTrainBatchNames()) {
    FileCheck batch = CheckCifarFile(dir, base);
    all_valid = all_valid && batch.valid;
    broken_train = broken_train || (batch.present && !batch.valid);
    if (batch.valid) ds.train_count += batch.count;
    ds.files.push_back(std::move(batch));
  }
  FileCheck test = CheckCifarFile(dir, kCifarTestBatchName);
  all_valid = all_valid && test.valid;
  if (test.valid) ds.test_count = test.count;
  ds.usable = test.valid && ds.train_count > 0 && !broken_train;
  ds.complete = all_valid;
  ds.files.push_back(std::move(test));
  return ds;
}

DataCheckReport CheckData(const std::string& data_dir) {
  DataCheckReport report;
  report.data_dir = data_dir;
  for (const DatasetInfo& info : DatasetCatalog()) {
    const std::string name(info.name);
    const std::string dir = (fs::path(data_dir) / DatasetDirName(name)).string();
    report.datasets.push_back(IsIdxDataset(name) ? CheckIdxDataset(name, dir)
                                                 : CheckCifarDataset(dir));
  }
  return report;
}

std::string FormatDataCheckReport(const DataCheckReport& report) {
  std::string out = absl::StrCat("data dir: ", report.data_dir, "\n");
  for (const DatasetCheck& ds : report.datasets) {
    const char* state = ds.complete ? "complete" : ds.usable ? "usable (incomplete)" : "not usable";
    absl::StrAppend(&out, ds.name, ": ", state, ", train ", ds.train_count, ", test ",
                    ds.test_count, "  [", ds.dir, "]\n");
    for (const FileCheck& f : ds.files) {
      if (f.valid) {
        absl::StrAppend(&out, "  ok       ", fs::path(f.path).filename().string(), "  (", f.count,
                        ")\n");
      } else if (!f.present) {
        absl::StrAppend(&out, "  missing  ", f.name, "[.gz]\n");
      } else {
        absl::StrAppend(&out, "  invalid  ", f.error, "\n");
      }
    }
    if (!ds.error.empty()) absl::StrAppend(&out, "  error    ", ds.error, "\n");
    if (!ds.usable) {
      absl::StrAppend(&out, "  fix: gridrun data fetch ", ds.name, "\n");
    }
  }
  return out;
}

}  // namespace gridrun::datafetch
