// Checkpoint bytes on disk, next to the database.
//
// Checkpoints can be hundreds of MB, so they live as files under a directory
// (default: `<db>.checkpoints/`) and the store keeps one row per file with
// its sha256. A file is written to a temporary name, fsynced, then renamed,
// so a crash never leaves a half-written checkpoint under its final name.
// Thread-safe: distinct writers use distinct temporary files; the directory
// itself is never modified except by rename/unlink.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/sha256.h"

namespace gridrun::coordinator {

class CheckpointFiles {
 public:
  explicit CheckpointFiles(std::string directory) : directory_(std::move(directory)) {}

  // Creates the directory if needed.
  absl::Status Init();
  const std::string& directory() const { return directory_; }

  // An upload in progress: Append() chunks, then Commit() checks size and
  // hash and moves the file into place, or the destructor deletes it.
  class Upload {
   public:
    ~Upload();
    absl::Status Append(std::string_view data);
    int64_t bytes_written() const { return bytes_; }
    // INVALID_ARGUMENT if the bytes do not match expected_bytes/expected_sha.
    // Returns the final path.
    absl::StatusOr<std::string> Commit(int64_t expected_bytes, const std::string& expected_sha);

   private:
    friend class CheckpointFiles;
    Upload(std::string tmp_path, std::string final_path, int fd);
    std::string tmp_path_;
    std::string final_path_;
    int fd_ = -1;
    int64_t bytes_ = 0;
    Sha256Builder sha_;
    bool committed_ = false;
  };

  // Starts an upload for (trial, step) with a unique final name.
  absl::StatusOr<std::unique_ptr<Upload>> BeginUpload(int64_t trial_id, int64_t step);
  // Starts an upload whose final name is `<directory>/<file_name>` (for
  // content-addressed files such as TorchScript networks: the name is the
  // hash, so a concurrent upload of the same bytes renames over an equal file).
  absl::StatusOr<std::unique_ptr<Upload>> BeginNamedUpload(const std::string& file_name);

  // Reads a whole file and checks it against `sha256`; DATA_LOSS on mismatch
  // or a missing file.
  absl::StatusOr<std::string> ReadVerified(const std::string& path,
                                           const std::string& sha256) const;

  // Deletes a file; a missing file is fine.
  void Remove(const std::string& path) const;

 private:
  std::string directory_;
};

}  // namespace gridrun::coordinator
