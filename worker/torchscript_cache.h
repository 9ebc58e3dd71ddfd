// A worker's TorchScript files (modelspec/model_file.h): fetched from the
// coordinator by sha256 (WorkerService.FetchTorchScript) and cached on local
// disk by that hash, so a machine fetches each file once however many trials
// use it. A worker never reads the submitter's file system: the model text
// in the trial's config names only hashes.
//
// Cache layout: <data_dir>/.gridrun-cache/torchscript/<sha256>.pt, written to
// a temporary name and renamed (concurrent workers on one machine write
// equal bytes). A cached file is re-hashed on every read; one that no longer
// matches is fetched again and replaced.
//
// Thread-safety: no shared state besides the files.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/trial_config.h"

namespace gridrun::worker {

// The sha256 of every TorchScript network of `config`'s model file, in the
// file's order without repeats; empty for a built-in model or a model text
// that does not parse (building it reports why).
std::vector<std::string> TorchScriptHashes(const TrialConfig& config);

// The directory of the cache under `data_dir`.
std::string TorchScriptCacheDir(const std::string& data_dir);

using FetchTorchScriptFn = std::function<absl::StatusOr<std::string>(const std::string& sha256)>;

// The bytes whose sha256 is `sha256`: from `cache_dir` when cached intact,
// else from `fetch` (whose result is checked against the hash: DATA_LOSS
// when it differs) and then cached. A cache that cannot be written is
// logged and skipped. Errors: fetch's.
absl::StatusOr<std::string> CachedTorchScript(const std::string& cache_dir,
                                              const std::string& sha256,
                                              const FetchTorchScriptFn& fetch);

}  // namespace gridrun::worker
