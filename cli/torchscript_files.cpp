#include "cli/torchscript_files.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/subprocess.h"
#include "common/trial_config.h"
#include "coordinator/grid_expand.h"
#include "modelspec/model_file.h"
#include "proto/status_convert.h"

namespace gridrun::cli {
namespace {

constexpr size_t kChunkBytes = 1 << 20;

}  // namespace

bool ReadTorchScriptFiles(const std::string& spec_path, const std::string& model,
                          const std::filesystem::path& model_path, std::string* model_text,
                          int64_t max_bytes, std::vector<TorchScriptFile>* files,
                          std::ostream& err) {
  auto parsed = modelspec::ParseModelFile(model, *model_text);
  if (!parsed.ok() || !(*parsed)->HasTorchScript()) return true;
  const std::string prefix = absl::StrCat(spec_path, ": model file '", model, "': ");
  // A file with the map already (written back by `gridrun export`) names
  // its bytes: a file beside it must still have them; one that is absent is
  // taken from the coordinator's store (SubmitGrid checks it is there).
  const bool has_map =
      std::any_of((*parsed)->networks.begin(), (*parsed)->networks.end(),
                  [](const modelspec::NetworkDecl& n) { return !n.torchscript_sha256.empty(); });
  std::map<std::string, std::string> hashes;  // path as written -> sha256
  bool ok = true;
  for (const modelspec::NetworkDecl& net : (*parsed)->networks) {
    if (!net.is_torchscript() || hashes.contains(net.torchscript)) continue;
    if (has_map && net.torchscript_sha256.empty()) {
      err << prefix << net.role << ": torchscript_sha256 names no hash for '" << net.torchscript
          << "' (gridrun adds that line when it reads the file: delete it)\n";
      ok = false;
      continue;
    }
    const std::filesystem::path path = std::filesystem::path(net.torchscript).is_absolute()
                                           ? std::filesystem::path(net.torchscript)
                                           : model_path.parent_path() / net.torchscript;
    const std::string where = absl::StrCat(prefix, net.role, ": TorchScript file '",
                                           net.torchscript, "' (", path.string(), "): ");
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec && static_cast<int64_t>(size) > max_bytes) {
      err << where << size << " bytes; a TorchScript file may have at most " << max_bytes
          << " (--max-torchscript-bytes)\n";
      ok = false;
      continue;
    }
    std::ifstream in(path, std::ios::binary);
    if (has_map && (!in || ec)) continue;  // stored on the coordinator, if anywhere
    if (!in || ec) {
      err << where << "cannot open file: " << std::strerror(errno ? errno : ENOENT) << "\n";
      ok = false;
      continue;
    }
    std::ostringstream bytes;
    bytes << in.rdbuf();
    TorchScriptFile file{net.torchscript, path.string(), Sha256Hex(bytes.str()), bytes.str()};
    if (has_map && file.sha256 != net.torchscript_sha256) {
      err << where << "its sha256 is " << file.sha256 << " but the model file's torchscript_sha256 "
          << "names " << net.torchscript_sha256
          << " (to train the new file, delete the torchscript_sha256 line)\n";
      ok = false;
      continue;
    }
    hashes[net.torchscript] = file.sha256;
    const bool known = std::any_of(files->begin(), files->end(), [&](const TorchScriptFile& f) {
      return f.sha256 == file.sha256;
    });
    if (!known) files->push_back(std::move(file));
  }
  if (!ok) return false;
  if (!has_map) *model_text = modelspec::WithTorchScriptHashes(*model_text, hashes);
  return true;
}

absl::Status CheckTorchScriptModels(const coordinator::GridSpec& spec,
                                    const std::vector<TorchScriptFile>& files,
                                    const std::string& worker_binary, std::ostream& err) {
  if (files.empty()) return absl::OkStatus();
  nlohmann::json input;
  input["files"] = nlohmann::json::object();
  for (const TorchScriptFile& f : files) input["files"][f.sha256] = f.path;
  input["configs"] = nlohmann::json::array();
  std::set<std::tuple<std::string, std::string, int64_t, int64_t, int64_t>> seen;
  for (const auto& trial : coordinator::ExpandGrid(spec)) {
    const TrialConfig& c = trial.config;
    if (c.model_source.empty()) continue;
    auto file = modelspec::ParseModelFile(c.model, c.model_source);
    if (!file.ok() || !(*file)->HasTorchScript()) continue;
    const bool all_local = std::all_of(
        (*file)->networks.begin(), (*file)->networks.end(), [&](const modelspec::NetworkDecl& n) {
          return !n.is_torchscript() ||
                 std::any_of(files.begin(), files.end(), [&](const TorchScriptFile& f) {
                   return f.sha256 == n.torchscript_sha256;
                 });
        });
    if (!all_local) continue;  // some bytes only on the coordinator: workers check
    if (!seen.insert({c.model, c.dataset, c.latent_size, c.width, c.depth}).second) continue;
    input["configs"].push_back(ToCanonicalJson(c));
  }
  if (input["configs"].empty()) return absl::OkStatus();
  if (!std::filesystem::exists(worker_binary)) {
    err << "note: TorchScript networks not run before submitting (no " << worker_binary
        << "); workers check them when they first build the model\n";
    return absl::OkStatus();
  }
  auto result = RunProcess({worker_binary, "--check-models"}, input.dump());
  if (!result.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot run ", worker_binary, " --check-models: ", result.status().message()));
  }
  if (result->exit_code == 0) return absl::OkStatus();
  std::string lines = result->out.empty() ? result->err : result->out;
  while (!lines.empty() && lines.back() == '\n') lines.pop_back();
  return absl::InvalidArgumentError(lines);
}

absl::Status UploadTorchScriptFiles(
    v1::GridService::StubInterface& grid,
    const std::function<std::unique_ptr<grpc::ClientContext>()>& new_context,
    const std::vector<TorchScriptFile>& files) {
  for (const TorchScriptFile& f : files) {
    auto context = new_context();
    v1::UploadTorchScriptResponse response;
    auto writer = grid.UploadTorchScript(context.get(), &response);
    v1::TorchScriptChunk chunk;
    chunk.mutable_header()->set_sha256(f.sha256);
    chunk.mutable_header()->set_total_bytes(static_cast<int64_t>(f.bytes.size()));
    chunk.mutable_header()->set_name(f.name);
    // The header alone first: a coordinator that has the hash answers
    // already_stored before any byte is sent.
    bool ok = writer->Write(chunk);
    chunk.clear_header();
    for (size_t offset = 0; ok && offset < f.bytes.size(); offset += kChunkBytes) {
      chunk.set_data(f.bytes.substr(offset, kChunkBytes));
      ok = writer->Write(chunk);
    }
    if (ok) writer->WritesDone();
    const grpc::Status status = writer->Finish();
    if (!status.ok()) {
      return absl::Status(
          FromGrpcStatus(status).code(),
          absl::StrCat("uploading TorchScript file ", f.path, ": ", status.error_message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace gridrun::cli
