#include "worker/torchscript_cache.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "modelspec/model_file.h"

namespace gridrun::worker {

std::vector<std::string> TorchScriptHashes(const TrialConfig& config) {
  std::vector<std::string> hashes;
  if (config.model_source.empty()) return hashes;
  auto file = modelspec::ParseModelFile(config.model, config.model_source);
  if (!file.ok()) return hashes;
  for (const modelspec::NetworkDecl& net : (*file)->networks) {
    const std::string& sha = net.torchscript_sha256;
    if (!sha.empty() && std::find(hashes.begin(), hashes.end(), sha) == hashes.end()) {
      hashes.push_back(sha);
    }
  }
  return hashes;
}

std::string TorchScriptCacheDir(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / ".gridrun-cache" / "torchscript").string();
}

absl::StatusOr<std::string> CachedTorchScript(const std::string& cache_dir,
                                              const std::string& sha256,
                                              const FetchTorchScriptFn& fetch) {
  const std::filesystem::path path = std::filesystem::path(cache_dir) / (sha256 + ".pt");
  {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::ostringstream bytes;
      bytes << in.rdbuf();
      if (Sha256Hex(bytes.str()) == sha256) return std::move(bytes).str();
      spdlog::warn("cached TorchScript file {} does not match its hash; fetching it again",
                   path.string());
    }
  }
  absl::StatusOr<std::string> bytes = fetch(sha256);
  if (!bytes.ok()) return bytes.status();
  if (Sha256Hex(*bytes) != sha256) {
    return absl::DataLossError(
        absl::StrCat("TorchScript file ", sha256, " arrived corrupted (sha256 mismatch)"));
  }
  std::error_code ec;
  std::filesystem::create_directories(cache_dir, ec);
  const std::string tmp = absl::StrCat(path.string(), ".", ::getpid(), ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
    if (!out) {
      spdlog::warn("cannot cache TorchScript file in {}; going on without", cache_dir);
      std::filesystem::remove(tmp, ec);
      return bytes;
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    spdlog::warn("cannot cache TorchScript file {}: {}", path.string(), ec.message());
    std::filesystem::remove(tmp, ec);
  }
  return bytes;
}

}  // namespace gridrun::worker
