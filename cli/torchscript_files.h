// The TorchScript files of a grid's model files (modelspec/model_file.h,
// `torchscript: PATH`), on the submitter's side:
//
//   1. ReadTorchScriptFiles (called by ReadSpecFiles, cli/spec_files.h)
//      reads each file relative to its model file, bounded by a size limit,
//      hashes it, and appends the hashes to the model file's text
//      (modelspec::WithTorchScriptHashes): what travels to the coordinator
//      and into every trial's config names the exact bytes.
//   2. CheckTorchScriptModels runs each distinct model of the grid once
//      through `gridrun-worker --check-models` (worker/model_check.h): the
//      CLI is torch-free, the worker binary is not. Where no worker binary
//      is installed beside gridrun it says so and the workers' own check
//      (when they first build the model) is what remains.
//   3. UploadTorchScriptFiles sends each file to the coordinator once
//      (GridService.UploadTorchScript; a hash it already has costs one
//      message), before SubmitGrid names them.
//
// Thread-safety: no shared state.
#pragma once

#include <grpcpp/client_context.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "coordinator/grid_spec.h"
#include "proto/gridrun.grpc.pb.h"

namespace gridrun::cli {

inline constexpr int64_t kDefaultMaxTorchScriptBytes = int64_t{256} << 20;

struct TorchScriptFile {
  std::string name;    // the path the model file wrote
  std::string path;    // where it was read
  std::string sha256;  // hex
  std::string bytes;
};

// For the model file `model` (as the spec wrote it), read from
// `model_path`, with text `*model_text`: reads the TorchScript files its
// networks name (relative to model_path's directory), adds the new ones to
// `files` (one per hash) and appends their hashes to *model_text. A text that
// does not parse is left alone (the spec parser reports it). On a problem
// prints one line to `err` per problem, starting "SPEC: model file 'MODEL':
// ", and returns false: a file that cannot be read, one over `max_bytes`.
// A model file that already has the map (`gridrun export` writes the stored
// text back) keeps it: a TorchScript file beside it must have the hash it
// names (else an error), an absent one is left to the coordinator's store.
bool ReadTorchScriptFiles(const std::string& spec_path, const std::string& model,
                          const std::filesystem::path& model_path, std::string* model_text,
                          int64_t max_bytes, std::vector<TorchScriptFile>* files,
                          std::ostream& err);

// Runs each distinct model (model, data set, sizes) of `spec` that has a
// TorchScript network through `worker_binary --check-models`. OK when every
// one builds, or when there is none; INVALID_ARGUMENT with the worker's
// lines otherwise. When `worker_binary` does not exist, prints a note to
// `err` and returns OK.
absl::Status CheckTorchScriptModels(const coordinator::GridSpec& spec,
                                    const std::vector<TorchScriptFile>& files,
                                    const std::string& worker_binary, std::ostream& err);

// Uploads every file; `new_context` gives each call's context (token,
// deadline). The first error, naming the file.
absl::Status UploadTorchScriptFiles(
    v1::GridService::StubInterface& grid,
    const std::function<std::unique_ptr<grpc::ClientContext>()>& new_context,
    const std::vector<TorchScriptFile>& files);

}  // namespace gridrun::cli
