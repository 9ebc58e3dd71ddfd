#include "coordinator/torchscript_store.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "coordinator/request_validation.h"
#include "modelspec/model_file.h"

namespace gridrun::coordinator {

absl::StatusOr<std::unique_ptr<TorchScriptStore::Upload>> TorchScriptStore::Begin(
    const std::string& sha256, int64_t total_bytes, const std::string& name) {
  RETURN_IF_ERROR(ValidateSha256Hex("sha256", sha256));
  if (total_bytes < 0 || total_bytes > max_bytes_) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": ", total_bytes, " bytes; a TorchScript file may have at most ",
                     max_bytes_, " (coordinator --max-torchscript-bytes)"));
  }
  if (CheckStored(sha256, name).ok()) return std::unique_ptr<Upload>();
  ASSIGN_OR_RETURN(auto file,
                   files_->BeginNamedUpload(absl::StrCat("torchscript-", sha256, ".pt")));
  auto upload = std::unique_ptr<Upload>(new Upload());
  upload->owner_ = this;
  upload->file_ = std::move(file);
  upload->record_.sha256 = sha256;
  upload->record_.size_bytes = total_bytes;
  upload->record_.name = name;
  return upload;
}

absl::Status TorchScriptStore::Upload::Append(std::string_view data) {
  if (file_->bytes_written() + static_cast<int64_t>(data.size()) > record_.size_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        record_.name, ": more bytes than the header's total_bytes (", record_.size_bytes, ")"));
  }
  return file_->Append(data);
}

absl::Status TorchScriptStore::Upload::Commit() {
  auto path = file_->Commit(record_.size_bytes, record_.sha256);
  if (!path.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(record_.name, ": TorchScript upload refused: ", path.status().message()));
  }
  record_.path = *path;
  record_.created_ms = owner_->clock_->NowMs();
  return owner_->store_->AddTorchScriptFile(record_);
}

absl::StatusOr<std::string> TorchScriptStore::ReadVerified(const std::string& sha256,
                                                           const std::string& name) {
  auto record = store_->GetTorchScriptFile(sha256);
  if (absl::IsNotFound(record.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "TorchScript file ", name, " (sha256 ", sha256,
        ") was not uploaded (gridrun submit and local upload the files a model file names)"));
  }
  RETURN_IF_ERROR(record.status());
  std::ifstream in(record->path, std::ios::binary);
  const bool opened = static_cast<bool>(in);
  std::ostringstream buffer;
  if (opened) buffer << in.rdbuf();
  std::string bytes = std::move(buffer).str();
  if (!opened || Sha256Hex(bytes) != sha256) {
    return absl::FailedPreconditionError(
        absl::StrCat("TorchScript file ", name, " no longer matches its sha256 ", sha256,
                     " on the coordinator (stored file ", record->path,
                     opened ? " is corrupt" : " is missing", "); submit again to upload it"));
  }
  return bytes;
}

absl::Status TorchScriptStore::CheckStored(const std::string& sha256, const std::string& name) {
  return ReadVerified(sha256, name).status();
}

absl::Status TorchScriptStore::CheckModelFiles(
    const std::map<std::string, std::string>& model_files) {
  for (const auto& [path, text] : model_files) {
    auto file = modelspec::ParseModelFile(path, text);
    if (!file.ok()) continue;
    for (const modelspec::NetworkDecl& net : (*file)->networks) {
      if (!net.is_torchscript() || net.torchscript_sha256.empty()) continue;
      if (absl::Status s = CheckStored(net.torchscript_sha256, net.torchscript); !s.ok()) {
        return absl::Status(s.code(), absl::StrCat("model file ", path, ": ", s.message()));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> TorchScriptStore::Read(const std::string& sha256) {
  return ReadVerified(sha256, sha256);
}

}  // namespace gridrun::coordinator
