// Torch-free readers for the on-disk data set formats: a raw-or-gzip file
// reader (DataFile) and the IDX format of MNIST / Fashion-MNIST.
//
// The official MNIST files are gzip-compressed; users often keep them
// decompressed. Every reader here takes either: zlib's gzopen reads a gzip
// stream or, transparently, a plain file. File lookup (FindDataFile) tries the
// plain name first, then "<name>.gz".
//
// IDX layout (big-endian): magic 0x00000803 (images, 3 dims) or 0x00000801
// (labels, 1 dim), then one uint32 per dimension, then the uint8 payload.
//
// These functions are shared by models/dataset.cpp (loading into tensors) and
// datafetch/data_check.cpp (`gridrun data check`, which must stay cheap and
// torch-free). Thread-safety: DataFile is a move-only handle for one thread;
// the free functions keep no shared state.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gridrun::models {

// ---- Data directory layout -------------------------------------------------
//
//   <data_dir>/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
//   <data_dir>/fashion-mnist/  (same names)
//   <data_dir>/cifar-10/{data_batch_1..5,test_batch}.bin[.gz], batches.meta.txt

// The data directory to use when none is given: $GRIDRUN_DATA_DIR if set and
// non-empty, else $HOME/.cache/gridrun/data (./.cache/gridrun/data without HOME).
std::string DefaultDataDir();

// The sub-directory of a catalog data set ("mnist" -> "mnist", "fashion-mnist"
// -> "fashion-mnist", "cifar10" -> "cifar-10"); "" for an unknown name.
std::string DatasetDirName(const std::string& dataset);

// True for the data sets stored as IDX files (mnist, fashion-mnist).
bool IsIdxDataset(const std::string& dataset);

// A file opened for sequential reading, gzip-compressed or plain.
class DataFile {
 public:
  // NOT_FOUND if the file does not exist, INVALID_ARGUMENT if it cannot be
  // opened for reading (the message names the path and the OS error).
  static absl::StatusOr<DataFile> Open(const std::string& path);

  DataFile(DataFile&&) noexcept;
  DataFile& operator=(DataFile&&) noexcept;
  ~DataFile();

  // Reads up to `n` bytes into `dst`; returns how many were read, fewer than
  // `n` only at the end of the file. DATA_LOSS on a corrupt gzip stream.
  absl::StatusOr<int64_t> Read(void* dst, int64_t n);

  // Reads and discards the rest of the file; returns how many bytes it had.
  absl::StatusOr<int64_t> SkipToEnd();

  const std::string& path() const { return path_; }

 private:
  DataFile(std::string path, void* handle);

  std::string path_;
  void* handle_ = nullptr;  // gzFile
};

// The path of `base_name` in `dir`: "<dir>/<base_name>" if it exists, else
// "<dir>/<base_name>.gz". NOT_FOUND otherwise, naming `what` (e.g. "mnist
// train images") and both paths that were looked for.
absl::StatusOr<std::string> FindDataFile(const std::string& dir, const std::string& base_name,
                                         const std::string& what);

// The uncompressed size of a file without reading it through: the file size
// for a plain file, the gzip trailer's ISIZE field for a gzip file (exact for
// single-member gzip files below 4 GiB, as all official data set files are).
absl::StatusOr<int64_t> UncompressedSizeHint(const std::string& path);

enum class IdxKind {
  kImages,  // magic 0x00000803, dims: count, rows, cols
  kLabels,  // magic 0x00000801, dims: count
};

inline constexpr uint32_t kIdxImagesMagic = 0x00000803;
inline constexpr uint32_t kIdxLabelsMagic = 0x00000801;
// The largest image side ReadIdxHeader accepts (MNIST's is 28).
inline constexpr int64_t kIdxMaxSide = 4096;

struct IdxHeader {
  IdxKind kind = IdxKind::kImages;
  int64_t count = 0;
  int64_t rows = 0;  // images only
  int64_t cols = 0;  // images only

  int64_t HeaderBytes() const { return kind == IdxKind::kImages ? 16 : 8; }
  int64_t ItemBytes() const { return kind == IdxKind::kImages ? rows * cols : 1; }
  int64_t TotalBytes() const { return HeaderBytes() + count * ItemBytes(); }
  // "60000 images of 28x28 (47040016 bytes)" / "60000 labels (60008 bytes)".
  std::string Describe() const;
};

// Reads the header at the start of `file`. INVALID_ARGUMENT if the magic is
// not the one of `expected` ("<path>: bad magic 0x00000000, expected
// 0x00000803 (idx3 images)"), the file ends inside the header, or an image
// side is outside 1..kIdxMaxSide.
absl::StatusOr<IdxHeader> ReadIdxHeader(DataFile& file, IdxKind expected);

// Before allocating for a header's items: INVALID_ARGUMENT "<path>:
// truncated: header says ... but file has N bytes" (as ReadIdxPayload) when
// the file is too small for header.TotalBytes() even in the best case (a
// plain file's size; a gzip file's size times deflate's largest ratio, 1032),
// so a corrupt count cannot make the loader allocate gigabytes first.
absl::Status CheckIdxFitsFile(const std::string& path, const IdxHeader& header);

// After ReadIdxHeader: reads the first `take` items (0 <= take <= count) into
// `dst` (take * ItemBytes() bytes), then reads the rest of the file to check
// that its size is exactly header.TotalBytes(). INVALID_ARGUMENT
// "<path>: truncated: header says ... but file has N bytes" when shorter,
// "<path>: size mismatch: header says ... but file has N bytes" when longer.
absl::Status ReadIdxPayload(DataFile& file, const IdxHeader& header, int64_t take, uint8_t* dst);

}  // namespace gridrun::models
