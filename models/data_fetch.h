// The library side of `gridrun data check` and `gridrun data fetch`:
// inspecting a data directory and downloading the official data set files
// into it.
//
// Downloads need no new dependency:
//  - http:// URLs are fetched with a small HTTP/1.1 GET client on a POSIX
//    socket (Content-Length, chunked or close-delimited bodies; up to 5
//    redirects);
//  - https:// URLs are handed to the `curl` program (`curl -fsSL`), which must
//    be on PATH; without it the error says so and names the URL to fetch by
//    hand. Mirrors reachable over plain http (GRIDRUN_DATA_MIRROR) avoid curl.
// Every file is written to a temporary name in the destination directory,
// its MD5 (OpenSSL EVP) compared with the official checksum, and renamed into
// place only when it matches; otherwise it is deleted and nothing lands.
// Destination names come only from the table of official files below, never
// from the server (Content-Disposition, redirect targets and archive member
// paths are ignored), so a server cannot write outside the data directory.
// CIFAR-10 comes as one tarball (cifar-10-binary.tar.gz); it is verified,
// extracted with `tar` into a fresh temporary directory inside cifar-10/, and
// only the known regular files (data_batch_1..5.bin, test_batch.bin,
// batches.meta.txt) are moved up into cifar-10/ (the archive's
// cifar-10-batches-bin/ folder is flattened). The tarball is deleted after.
//
// This file and models/idx_reader.h are torch-free.
//
// Thread-safety: the functions keep no shared state; two fetches into the same
// directory at once are safe (unique temporary names, atomic renames) but
// wasteful.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gridrun::models {

// ---- gridrun data check ------------------------------------------------------

struct FileCheck {
  std::string name;  // base name without ".gz", e.g. "train-images-idx3-ubyte"
  std::string path;  // the file found (plain preferred over .gz); "" if absent
  bool present = false;
  bool valid = false;  // header and size consistent (see CheckData)
  int64_t count = 0;   // images / labels / records the file holds
  std::string error;   // why it is not valid
};

struct DatasetCheck {
  std::string name;  // catalog name: "mnist", "fashion-mnist", "cifar10"
  std::string dir;
  std::vector<FileCheck> files;
  int64_t train_count = 0;  // images LoadDataset(kTrain) would return
  int64_t test_count = 0;
  bool usable = false;    // both splits load (as far as the headers tell)
  bool complete = false;  // every official file present and valid
  std::string error;      // data-set level problem (e.g. image/label count mismatch)
};

struct DataCheckReport {
  std::string data_dir;
  std::vector<DatasetCheck> datasets;  // catalog order
};

// Inspects every catalog data set under `data_dir` without decoding images:
// IDX files must have the right magic, 28x28 images and a size matching the
// header; CIFAR batches a size that is a multiple of 3073 bytes. For gzip
// files the size comes from the gzip trailer (ISIZE), so a cut-off download is
// caught without decompressing. Label values are not checked (LoadDataset
// does). CIFAR-10 is usable with test_batch and at least one training batch;
// complete with all five.
DataCheckReport CheckData(const std::string& data_dir);

// Human-readable report, one line per file and a summary line per data set.
std::string FormatDataCheckReport(const DataCheckReport& report);

// ---- gridrun data fetch ------------------------------------------------------

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
};

// Downloads data set `name` into <data_dir>/<data set dir>/ (created).
// Files already present with the right md5 are kept (unless force); for
// CIFAR-10, an existing complete set of batches skips the download.
// Errors: INVALID_ARGUMENT (unknown data set, bad URL), NOT_FOUND (HTTP 404
// or 410, naming the URL), DATA_LOSS (md5 mismatch: "got X, expected Y";
// nothing is written), UNAVAILABLE (connection, other HTTP status, curl
// missing or failing, tar failing), INTERNAL (local file system errors).
absl::Status FetchDataset(const std::string& name, const std::string& data_dir,
                          const FetchOptions& options = {});

// Lowercase hex MD5 of bytes / of a file's contents (NOT_FOUND if unreadable).
std::string Md5Hex(std::string_view bytes);
absl::StatusOr<std::string> Md5FileHex(const std::string& path);

}  // namespace gridrun::models
