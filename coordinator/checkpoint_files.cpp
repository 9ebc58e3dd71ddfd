#include "coordinator/checkpoint_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace gridrun::coordinator {
namespace {

absl::Status ErrnoError(const std::string& what, const std::string& path) {
  const int err = errno;
  std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(err));
  if (err == ENOSPC) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

void FsyncDirectory(const std::string& directory) {
  int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

absl::Status CheckpointFiles::Init() {
  std::error_code ec;
  std::filesystem::create_directories(directory_, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create checkpoint directory ", directory_, ": ", ec.message()));
  }
  return absl::OkStatus();
}

CheckpointFiles::Upload::Upload(std::string tmp_path, std::string final_path, int fd)
    : tmp_path_(std::move(tmp_path)), final_path_(std::move(final_path)), fd_(fd) {}

CheckpointFiles::Upload::~Upload() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_path_.c_str());
}

absl::Status CheckpointFiles::Upload::Append(std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot write checkpoint", tmp_path_);
    }
    done += static_cast<size_t>(n);
  }
  sha_.Update(data);
  bytes_ += static_cast<int64_t>(data.size());
  return absl::OkStatus();
}

absl::StatusOr<std::string> CheckpointFiles::Upload::Commit(int64_t expected_bytes,
                                                            const std::string& expected_sha) {
  if (bytes_ != expected_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint: received ", bytes_,
                                                   " bytes but header.total_bytes is ",
                                                   expected_bytes));
  }
  const std::string actual_sha = sha_.FinishHex();
  if (actual_sha != expected_sha) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint: sha256 of the data is ",
                                                   actual_sha, " but header.sha256 is ",
                                                   expected_sha));
  }
  if (::fsync(fd_) != 0) return ErrnoError("cannot fsync checkpoint", tmp_path_);
  ::close(fd_);
  fd_ = -1;
  if (::rename(tmp_path_.c_str(), final_path_.c_str()) != 0) {
    return ErrnoError("cannot rename checkpoint to", final_path_);
  }
  committed_ = true;
  FsyncDirectory(std::filesystem::path(final_path_).parent_path().string());
  return final_path_;
}

absl::StatusOr<std::unique_ptr<CheckpointFiles::Upload>> CheckpointFiles::BeginUpload(
    int64_t trial_id, int64_t step) {
  static std::atomic<uint64_t> counter{0};
  const std::string stem = absl::StrCat(directory_, "/trial-", trial_id, "-step-", step, "-",
                                        ::getpid(), "-", counter++);
  const std::string tmp_path = stem + ".tmp";
  int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create checkpoint file", tmp_path);
  return std::unique_ptr<Upload>(new Upload(tmp_path, stem + ".ckpt", fd));
}

absl::StatusOr<std::unique_ptr<CheckpointFiles::Upload>> CheckpointFiles::BeginNamedUpload(
    const std::string& file_name) {
  static std::atomic<uint64_t> counter{0};
  const std::string final_path = absl::StrCat(directory_, "/", file_name);
  const std::string tmp_path = absl::StrCat(final_path, "-", ::getpid(), "-", counter++, ".tmp");
  int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create file", tmp_path);
  return std::unique_ptr<Upload>(new Upload(tmp_path, final_path, fd));
}

absl::StatusOr<std::string> CheckpointFiles::ReadVerified(const std::string& path,
                                                          const std::string& sha256) const {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::DataLossError(absl::StrCat("checkpoint file ", path, " is missing"));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string bytes = std::move(buffer).str();
  const std::string actual = Sha256Hex(bytes);
  if (actual != sha256) {
    return absl::DataLossError(absl::StrCat("checkpoint file ", path, " is corrupt: sha256 ",
                                            actual, ", expected ", sha256));
  }
  return bytes;
}

void CheckpointFiles::Remove(const std::string& path) const { ::unlink(path.c_str()); }

}  // namespace gridrun::coordinator
