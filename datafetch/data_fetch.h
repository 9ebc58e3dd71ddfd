// Downloading the official data set files (`gridrun data fetch`), torch-free.
//
// Downloads go through libcurl (http and https; redirects followed, at most
// 5; a connect timeout and a stall timeout; a size limit per file). Every
// file is written to a temporary name in the destination directory, its MD5
// compared with the official checksum, and renamed into place only when it
// matches; otherwise it is deleted and nothing lands. Destination names come
// only from the table of official files below, never from the server
// (Content-Disposition, redirect targets and archive member paths are
// ignored), so a server cannot write outside the data directory.
// CIFAR-10 comes as one tarball (cifar-10-binary.tar.gz); it is verified,
// extracted with `tar` into a fresh temporary directory inside cifar-10/, and
// only the known regular files (data_batch_1..5.bin, test_batch.bin,
// batches.meta.txt) are moved up into cifar-10/ (the archive's
// cifar-10-batches-bin/ folder is flattened). The tarball is deleted after.
//
// Thread-safety: the functions keep no shared state; two fetches into the same
// directory at once are safe (unique temporary names, atomic renames) but
// wasteful.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gridrun::datafetch {

struct RemoteFile {
  std::string name;  // file name on the server and on disk
  std::string md5;   // lowercase hex of the exact bytes
};

struct DatasetSource {
  std::string dataset;                 // catalog name
  std::vector<std::string> base_urls;  // official locations, tried in order
  std::vector<RemoteFile> files;
  bool is_tarball = false;  // CIFAR-10: one archive to extract
};

// The official sources: MNIST (the torchvision S3 mirror, then
// yann.lecun.com), Fashion-MNIST (Zalando's S3 site), CIFAR-10 binary
// (cs.toronto.edu). md5s are the published ones.
const std::vector<DatasetSource>& OfficialSources();

struct FetchOptions {
  // Directory URL holding this data set's files: file URL = base_url + "/" +
  // name. Empty: $GRIDRUN_DATA_MIRROR + "/" + <data set dir> + "/" + name when
  // that variable is set (one mirror for all data sets, laid out like a data
  // dir: mnist/, fashion-mnist/, cifar-10/), else the official base URLs.
  std::string base_url;
  // Checksums by file name that replace the official ones (tests, mirrors
  // with re-compressed files).
  std::map<std::string, std::string> md5_override;
  // Download even when a file with the right checksum is already present.
  bool force = false;
  // Connect timeout and longest stall while receiving, in seconds.
  int timeout_seconds = 60;
  // The largest file accepted, in bytes (the CIFAR-10 tarball has 170 MB).
  int64_t max_bytes = int64_t{1} << 30;
};

// Downloads data set `name` into <data_dir>/<data set dir>/ (created).
// Files already present with the right md5 are kept (unless force); for
// CIFAR-10, an existing complete set of batches skips the download.
// Errors: INVALID_ARGUMENT (unknown data set, bad URL, bad option), NOT_FOUND
// (HTTP 404 or 410, naming the URL), DATA_LOSS (md5 mismatch: "got X,
// expected Y"; nothing is written), RESOURCE_EXHAUSTED (a file larger than
// max_bytes; nothing is written), UNAVAILABLE (connection, timeouts, too many
// redirects, other HTTP status, tar missing or failing), INTERNAL (local file
// system errors).
absl::Status FetchDataset(const std::string& name, const std::string& data_dir,
                          const FetchOptions& options = {});

// Lowercase hex MD5 of a file's contents (NOT_FOUND if unreadable).
absl::StatusOr<std::string> Md5FileHex(const std::string& path);

}  // namespace gridrun::datafetch
