// Torch-free reader for the CIFAR-10 binary format.
//
// A batch file ("data_batch_1.bin" ... "data_batch_5.bin", "test_batch.bin",
// plain or ".gz") is a sequence of 3073-byte records: one label byte (0..9)
// followed by the 32x32 image as 1024 red, 1024 green and 1024 blue bytes
// (row-major), i.e. already in CHW order. The official batches have 10000
// records each. Thread-safety: no shared state.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gridrun::models {

inline constexpr int64_t kCifarImageBytes = 3 * 32 * 32;
inline constexpr int64_t kCifarRecordBytes = 1 + kCifarImageBytes;  // 3073
inline constexpr int kCifarTrainBatches = 5;

// Base names (without ".gz") of the training batches, in order.
std::vector<std::string> CifarTrainBatchNames();
inline constexpr const char* kCifarTestBatchName = "test_batch.bin";

// The records of one batch file. `records` holds every record verbatim
// (count * kCifarRecordBytes bytes).
struct CifarBatch {
  std::string path;
  int64_t count = 0;
  std::vector<uint8_t> records;
};

// Reads a whole batch file (plain or gzip) and validates it. INVALID_ARGUMENT
// "<path>: size N bytes is not a multiple of the 3073-byte record" or
// "<path>: record 17 has label 12, expected 0..9"; NOT_FOUND if missing.
absl::StatusOr<CifarBatch> ReadCifarBatch(const std::string& path);

// Copies record i of `batch` into `image` (kCifarImageBytes bytes) and returns
// its label. Requires 0 <= i < batch.count.
inline int CopyCifarRecord(const CifarBatch& batch, int64_t i, uint8_t* image) {
  const uint8_t* record = batch.records.data() + i * kCifarRecordBytes;
  std::memcpy(image, record + 1, kCifarImageBytes);
  return record[0];
}

}  // namespace gridrun::models
