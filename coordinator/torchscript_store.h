// The coordinator's TorchScript files (modelspec/model_file.h,
// `torchscript: PATH`): the bytes a model file's networks are, uploaded once
// by `gridrun submit` / `local` and fetched by workers, content-addressed by
// sha256. Transport-free (the gRPC handlers in grid_service.cpp and
// worker_service.cpp only move chunks), so the same rules hold whatever
// serves them.
//
// Protocol (proto/gridrun.proto, UploadTorchScript / FetchTorchScript):
//   1. The CLI computes each file's sha256 and size, and appends the hashes
//      to the model file's text (modelspec::WithTorchScriptHashes): they are
//      part of every trial's config, hence of its config hash.
//   2. It uploads each file: a header {sha256, total_bytes, name}, then the
//      bytes in chunks. Begin() refuses a size over the limit before any byte
//      arrives, and answers "already stored" (no bytes sent) for a hash whose
//      stored file still matches it. Commit() checks size and hash; nothing
//      is recorded unless both match.
//   3. SubmitGrid refuses a spec whose model file names a hash that is not
//      stored, or whose stored file no longer matches it (CheckStored):
//      nothing of the experiment is stored.
//   4. A worker fetches by hash (Read, which verifies again) and caches the
//      bytes by hash (worker/torchscript_cache.h).
//
// Thread-safety: all methods may be called concurrently (the store and the
// file directory are; equal uploads rename equal bytes onto one name).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "coordinator/checkpoint_files.h"
#include "coordinator/trial_store.h"

namespace gridrun::coordinator {

inline constexpr int64_t kDefaultMaxTorchScriptBytes = int64_t{256} << 20;

class TorchScriptStore {
 public:
  TorchScriptStore(TrialStore* store, CheckpointFiles* files, const Clock* clock,
                   int64_t max_bytes = kDefaultMaxTorchScriptBytes)
      : store_(store), files_(files), clock_(clock), max_bytes_(max_bytes) {}

  // An upload in progress: Append() each chunk, then Commit().
  class Upload {
   public:
    // INVALID_ARGUMENT when more bytes arrive than the header announced.
    absl::Status Append(std::string_view data);
    // Checks size and sha256 (INVALID_ARGUMENT naming both), moves the file
    // into place and records it. On any error nothing is recorded.
    absl::Status Commit();

   private:
    friend class TorchScriptStore;
    TorchScriptStore* owner_ = nullptr;
    std::unique_ptr<CheckpointFiles::Upload> file_;
    TorchScriptFileRecord record_;
  };

  // Starts an upload of `total_bytes` bytes with hash `sha256` (64
  // lower-case hex digits). Returns nullptr when those bytes are already
  // stored intact (send nothing). INVALID_ARGUMENT for a malformed hash, a
  // negative size, or one over the limit ("NAME: 300000000 bytes; a
  // TorchScript file may have at most 268435456 (coordinator
  // --max-torchscript-bytes)").
  absl::StatusOr<std::unique_ptr<Upload>> Begin(const std::string& sha256, int64_t total_bytes,
                                                const std::string& name);

  // OK when the file with this hash is stored and its bytes still hash to
  // it. FAILED_PRECONDITION otherwise: "TorchScript file NAME (sha256 H) was
  // not uploaded" or "... no longer matches its sha256 on the coordinator
  // (stored file ...); submit again to upload it".
  absl::Status CheckStored(const std::string& sha256, const std::string& name);

  // The stored bytes, verified (FAILED_PRECONDITION as CheckStored).
  absl::StatusOr<std::string> Read(const std::string& sha256);

  int64_t max_bytes() const { return max_bytes_; }

  // CheckStored for every TorchScript network of every parsed model file in
  // `model_files` (path -> text; files that do not parse are skipped: the
  // spec parser reports them), each message prefixed "model file PATH: ".
  absl::Status CheckModelFiles(const std::map<std::string, std::string>& model_files);

 private:
  absl::StatusOr<std::string> ReadVerified(const std::string& sha256, const std::string& name);

  TrialStore* store_;
  CheckpointFiles* files_;
  const Clock* clock_;
  int64_t max_bytes_;
};

}  // namespace gridrun::coordinator
