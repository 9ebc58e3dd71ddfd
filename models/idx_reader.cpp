#include "models/idx_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace gridrun::models {
namespace {

gzFile AsGz(void* handle) { return static_cast<gzFile>(handle); }

uint32_t BigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string Hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08x", v);
  return buf;
}

}  // namespace

std::string DefaultDataDir() {
  const char* env = std::getenv("GRIDRUN_DATA_DIR");
  if (env != nullptr && env[0] != '\0') return env;
  const char* home = std::getenv("HOME");
  const std::string base = home != nullptr && home[0] != '\0' ? home : ".";
  return base + "/.cache/gridrun/data";
}

std::string DatasetDirName(const std::string& dataset) {
  if (dataset == "mnist") return "mnist";
  if (dataset == "fashion-mnist") return "fashion-mnist";
  if (dataset == "cifar10") return "cifar-10";
  return "";
}

bool IsIdxDataset(const std::string& dataset) {
  return dataset == "mnist" || dataset == "fashion-mnist";
}

DataFile::DataFile(std::string path, void* handle) : path_(std::move(path)), handle_(handle) {}

DataFile::DataFile(DataFile&& other) noexcept
    : path_(std::move(other.path_)), handle_(std::exchange(other.handle_, nullptr)) {}

DataFile& DataFile::operator=(DataFile&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) gzclose(AsGz(handle_));
    path_ = std::move(other.path_);
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

DataFile::~DataFile() {
  if (handle_ != nullptr) gzclose(AsGz(handle_));
}

absl::StatusOr<DataFile> DataFile::Open(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory, expected a file"));
  }
  errno = 0;
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot open: ", errno != 0 ? std::strerror(errno) : "out of memory"));
  }
  gzbuffer(gz, 1 << 18);
  return DataFile(path, gz);
}

absl::StatusOr<int64_t> DataFile::Read(void* dst, int64_t n) {
  auto* out = static_cast<unsigned char*>(dst);
  int64_t total = 0;
  while (total < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<int64_t>(n - total, int64_t{1} << 30));
    const int got = gzread(AsGz(handle_), out + total, chunk);
    if (got < 0) {
      int errnum = 0;
      const char* msg = gzerror(AsGz(handle_), &errnum);
      return absl::DataLossError(absl::StrCat(path_, ": read error: ", msg));
    }
    if (got == 0) break;
    total += got;
  }
  return total;
}

absl::StatusOr<int64_t> DataFile::SkipToEnd() {
  std::vector<unsigned char> scratch(1 << 16);
  int64_t total = 0;
  while (true) {
    ASSIGN_OR_RETURN(const int64_t got, Read(scratch.data(), static_cast<int64_t>(scratch.size())));
    if (got == 0) return total;
    total += got;
  }
}

absl::StatusOr<std::string> FindDataFile(const std::string& dir, const std::string& base_name,
                                         const std::string& what) {
  const std::string plain = (std::filesystem::path(dir) / base_name).string();
  const std::string gz = plain + ".gz";
  std::error_code ec;
  if (std::filesystem::is_regular_file(plain, ec)) return plain;
  if (std::filesystem::is_regular_file(gz, ec)) return gz;
  return absl::NotFoundError(absl::StrCat(what, " not found: looked for ", plain, " and ", gz));
}

absl::StatusOr<int64_t> UncompressedSizeHint(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  unsigned char magic[2] = {0, 0};
  const size_t got = std::fread(magic, 1, 2, f);
  if (std::fseek(f, 0, SEEK_END) != 0) {
    std::fclose(f);
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot seek"));
  }
  const long size = std::ftell(f);
  if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    unsigned char trailer[4] = {0, 0, 0, 0};
    if (size < 18 || std::fseek(f, -4, SEEK_END) != 0 || std::fread(trailer, 1, 4, f) != 4) {
      std::fclose(f);
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": gzip file too short (", size, " bytes) to have a trailer"));
    }
    std::fclose(f);
    return int64_t{trailer[0]} | (int64_t{trailer[1]} << 8) | (int64_t{trailer[2]} << 16) |
           (int64_t{trailer[3]} << 24);
  }
  std::fclose(f);
  return static_cast<int64_t>(size);
}

std::string IdxHeader::Describe() const {
  if (kind == IdxKind::kImages) {
    return absl::StrCat(count, " images of ", rows, "x", cols, " (", TotalBytes(), " bytes)");
  }
  return absl::StrCat(count, " labels (", TotalBytes(), " bytes)");
}

absl::StatusOr<IdxHeader> ReadIdxHeader(DataFile& file, IdxKind expected) {
  const bool images = expected == IdxKind::kImages;
  const uint32_t want_magic = images ? kIdxImagesMagic : kIdxLabelsMagic;
  const char* want_name = images ? "idx3 images" : "idx1 labels";
  const int64_t header_bytes = images ? 16 : 8;
  unsigned char buf[16] = {};
  ASSIGN_OR_RETURN(const int64_t got, file.Read(buf, header_bytes));
  if (got < 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        file.path(), ": file has ", got, " bytes, too short for an ", want_name, " header"));
  }
  const uint32_t magic = BigEndian32(buf);
  if (magic != want_magic) {
    return absl::InvalidArgumentError(absl::StrCat(file.path(), ": bad magic ", Hex32(magic),
                                                   ", expected ", Hex32(want_magic), " (",
                                                   want_name, ")"));
  }
  if (got < header_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(file.path(), ": truncated: file has ", got,
                                                   " bytes, an ", want_name, " header needs ",
                                                   header_bytes));
  }
  IdxHeader header;
  header.kind = expected;
  header.count = BigEndian32(buf + 4);
  if (images) {
    header.rows = BigEndian32(buf + 8);
    header.cols = BigEndian32(buf + 12);
    // Bounded so that ItemBytes() and TotalBytes() cannot overflow int64
    // (a corrupt header gave rows = cols = 3115956665; found by fuzz/
    // data_readers): count < 2^32 times at most 2^24 bytes per image.
    if (header.rows < 1 || header.rows > kIdxMaxSide || header.cols < 1 ||
        header.cols > kIdxMaxSide) {
      return absl::InvalidArgumentError(absl::StrCat(
          file.path(), ": header says images of ", header.rows, "x", header.cols,
          ", rows and cols must be 1..", kIdxMaxSide));
    }
  }
  return header;
}

absl::Status CheckIdxFitsFile(const std::string& path, const IdxHeader& header) {
  std::error_code ec;
  const uintmax_t on_disk = std::filesystem::file_size(path, ec);
  if (ec) return absl::NotFoundError(absl::StrCat(path, ": cannot stat: ", ec.message()));
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  unsigned char magic[2] = {0, 0};
  const bool gzip = std::fread(magic, 1, 2, f) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  std::fclose(f);
  // Deflate's largest expansion is 1032:1 (RFC 1951: 258 bytes from 2 bits).
  const int64_t most = static_cast<int64_t>(on_disk) * (gzip ? 1032 : 1);
  if (header.TotalBytes() <= most) return absl::OkStatus();
  // Too small for certain: stream through it (no allocation) to report the
  // same message as ReadIdxPayload.
  ASSIGN_OR_RETURN(DataFile file, DataFile::Open(path));
  ASSIGN_OR_RETURN(const int64_t bytes, file.SkipToEnd());
  return absl::InvalidArgumentError(absl::StrCat(
      path, ": truncated: header says ", header.Describe(), " but file has ", bytes, " bytes"));
}

absl::Status ReadIdxPayload(DataFile& file, const IdxHeader& header, int64_t take, uint8_t* dst) {
  if (take < 0 || take > header.count) {
    return absl::InvalidArgumentError(
        absl::StrCat(file.path(), ": asked for ", take, " items of ", header.count));
  }
  const int64_t want = take * header.ItemBytes();
  ASSIGN_OR_RETURN(const int64_t got, file.Read(dst, want));
  int64_t file_bytes = header.HeaderBytes() + got;
  if (got == want) {
    ASSIGN_OR_RETURN(const int64_t rest, file.SkipToEnd());
    file_bytes += rest;
  }
  if (file_bytes < header.TotalBytes()) {
    return absl::InvalidArgumentError(absl::StrCat(file.path(), ": truncated: header says ",
                                                   header.Describe(), " but file has ", file_bytes,
                                                   " bytes"));
  }
  if (file_bytes > header.TotalBytes()) {
    return absl::InvalidArgumentError(absl::StrCat(file.path(), ": size mismatch: header says ",
                                                   header.Describe(), " but file has ", file_bytes,
                                                   " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace gridrun::models
