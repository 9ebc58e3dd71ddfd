// `gridrun data fetch`'s library (datafetch/data_fetch.h) through libcurl
// against a loopback HTTP server: good files land, bad checksums, 404s,
// oversized files and redirect loops are refused and leave nothing behind,
// redirects and chunked bodies work, CIFAR-10's tarball is unpacked safely.
#include "datafetch/data_fetch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/sha256.h"
#include "datafetch/data_check.h"
#include "tests/datafetch/test_http_server.h"
#include "tests/models/fake_data.h"

namespace gridrun::datafetch {
namespace {
namespace data_fetch_test {

namespace fs = std::filesystem;
using fake_data::ReadFileBytes;
using fake_data::ScopedTempDir;
using fake_data::WriteFileBytes;
using testing::TestHttpServer;

// The data set `name` under `data_dir` as `gridrun data check` sees it.
DatasetCheck Checked(const std::string& data_dir, const std::string& name) {
  for (DatasetCheck& ds : CheckData(data_dir).datasets) {
    if (ds.name == name) return ds;
  }
  throw std::runtime_error("no data set " + name);
}

const std::vector<std::string> kMnistFiles = {
    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz"};

// Fake MNIST .gz files served under /<prefix>/<name>; returns name -> bytes
// and fills the md5 overrides.
std::map<std::string, std::string> ServeFakeMnist(TestHttpServer& server, const std::string& src,
                                                  const std::string& prefix, FetchOptions* options,
                                                  bool chunked = false) {
  fake_data::WriteFakeMnist(src, 30, 10, 2);
  std::map<std::string, std::string> files;
  for (const std::string& name : kMnistFiles) {
    files[name] = ReadFileBytes(src + "/mnist/" + name);
    TestHttpServer::Response response;
    response.body = files[name];
    response.chunked = chunked;
    server.Set("/" + prefix + "/" + name, response);
    options->md5_override[name] = Md5Hex(files[name]);
  }
  return files;
}

// Files under `dir` whose name marks a temporary (".part-", ".extract-").
std::vector<std::string> Leftovers(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".part-") != std::string::npos || name.find(".extract-") == 0) {
      out.push_back(entry.path().string());
    }
  }
  return out;
}

TEST(DataFetchMd5Test, KnownVectors) {
  EXPECT_EQ(Md5Hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Md5Hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  ScopedTempDir dir;
  WriteFileBytes(dir.path() + "/f", "abc");
  EXPECT_EQ(*Md5FileHex(dir.path() + "/f"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(Md5FileHex(dir.path() + "/missing").status().code(), absl::StatusCode::kNotFound);
}

TEST(DataFetchTest, GoodFilesLandAndAreNotFetchedTwice) {
  ScopedTempDir tmp;
  TestHttpServer server;
  FetchOptions options;
  options.base_url = server.base() + "/mnist";
  const auto files = ServeFakeMnist(server, tmp.path() + "/src", "mnist", &options);
  const std::string data_dir = tmp.path() + "/data";
  ASSERT_TRUE(FetchDataset("mnist", data_dir, options).ok());
  for (const auto& [name, bytes] : files) {
    EXPECT_EQ(ReadFileBytes(data_dir + "/mnist/" + name), bytes) << name;
  }
  EXPECT_TRUE(Leftovers(data_dir).empty());
  const DatasetCheck loaded = Checked(data_dir, "mnist");
  ASSERT_TRUE(loaded.complete) << FormatDataCheckReport(CheckData(data_dir));
  EXPECT_EQ(loaded.train_count, 30);
  EXPECT_EQ(server.requests().size(), 4u);

  // Present with the right md5: nothing is downloaded again, unless forced.
  ASSERT_TRUE(FetchDataset("mnist", data_dir, options).ok());
  EXPECT_EQ(server.requests().size(), 4u);
  options.force = true;
  ASSERT_TRUE(FetchDataset("mnist", data_dir, options).ok());
  EXPECT_EQ(server.requests().size(), 8u);
}

TEST(DataFetchTest, WrongChecksumIsRejectedAndNothingLands) {
  ScopedTempDir tmp;
  TestHttpServer server;
  FetchOptions options;
  options.base_url = server.base() + "/mnist/";  // a trailing slash is fine
  ServeFakeMnist(server, tmp.path() + "/src", "mnist", &options);
  const std::string actual = options.md5_override["train-images-idx3-ubyte.gz"];
  options.md5_override["train-images-idx3-ubyte.gz"] = "0123456789abcdef0123456789abcdef";
  const std::string data_dir = tmp.path() + "/data";
  const absl::Status status = FetchDataset("mnist", data_dir, options);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(status.message(),
            server.base() + "/mnist/train-images-idx3-ubyte.gz: md5 mismatch: got " + actual +
                ", expected 0123456789abcdef0123456789abcdef; nothing was written");
  EXPECT_FALSE(fs::exists(data_dir + "/mnist/train-images-idx3-ubyte.gz"));
  EXPECT_TRUE(Leftovers(data_dir).empty());
}

TEST(DataFetchTest, NotFoundIsAClearError) {
  ScopedTempDir tmp;
  TestHttpServer server;
  FetchOptions options;
  options.base_url = server.base() + "/nowhere";
  const absl::Status status = FetchDataset("fashion-mnist", tmp.path(), options);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(),
            "GET " + server.base() + "/nowhere/train-images-idx3-ubyte.gz: HTTP 404 Not Found");
  EXPECT_TRUE(Leftovers(tmp.path()).empty());
  EXPECT_TRUE(fs::is_empty(tmp.path() + "/fashion-mnist"));
}

TEST(DataFetchTest, FollowsRedirectsReadsChunkedBodiesAndIgnoresServerFileNames) {
  ScopedTempDir tmp;
  TestHttpServer server;
  FetchOptions options;
  const auto files = ServeFakeMnist(server, tmp.path() + "/src", "real", &options,
                                    /*chunked=*/true);
  for (const std::string& name : kMnistFiles) {
    TestHttpServer::Response redirect;
    redirect.status = 302;
    // A relative Location and a hostile Content-Disposition file name.
    redirect.headers = {"Location: ../real/" + name,
                        "Content-Disposition: attachment; filename=\"../../escaped\""};
    server.Set("/old/" + name, redirect);
  }
  options.base_url = server.base() + "/old";
  const std::string data_dir = tmp.path() + "/data";
  const absl::Status status = FetchDataset("mnist", data_dir, options);
  ASSERT_TRUE(status.ok()) << status;
  for (const auto& [name, bytes] : files) {
    EXPECT_EQ(ReadFileBytes(data_dir + "/mnist/" + name), bytes) << name;
  }
  // Only the data dir and the source dir exist next to each other.
  std::vector<std::string> top;
  for (const auto& entry : fs::directory_iterator(tmp.path())) {
    top.push_back(entry.path().filename().string());
  }
  std::sort(top.begin(), top.end());
  EXPECT_EQ(top, (std::vector<std::string>{"data", "src"}));
  EXPECT_FALSE(fs::exists(tmp.path() + "/escaped"));
}

TEST(DataFetchTest, MirrorEnvironmentVariable) {
  ScopedTempDir tmp;
  TestHttpServer server;
  FetchOptions options;
  fake_data::WriteFakeMnist(tmp.path() + "/src", 12, 6, 3, {true, "fashion-mnist"});
  for (const std::string& name : kMnistFiles) {
    const std::string bytes = ReadFileBytes(tmp.path() + "/src/fashion-mnist/" + name);
    server.Set("/mirror/fashion-mnist/" + name, {200, bytes, {}, false});
    options.md5_override[name] = Md5Hex(bytes);
  }
  setenv("GRIDRUN_DATA_MIRROR", (server.base() + "/mirror").c_str(), 1);
  const absl::Status status = FetchDataset("fashion-mnist", tmp.path() + "/data", options);
  unsetenv("GRIDRUN_DATA_MIRROR");
  ASSERT_TRUE(status.ok()) << status;
  const DatasetCheck test = Checked(tmp.path() + "/data", "fashion-mnist");
  ASSERT_TRUE(test.complete) << FormatDataCheckReport(CheckData(tmp.path() + "/data"));
  EXPECT_EQ(test.test_count, 6);
}

// Builds a cifar-10-binary.tar.gz like the official one from fake batches.
std::string MakeCifarTarball(const std::string& work, bool symlink_member = false) {
  const std::string folder = work + "/cifar-10-batches-bin";
  fs::create_directories(folder);
  for (int b = 1; b <= 5; ++b) {
    const auto images = fake_data::MakeFakeImages(7, 3, 32, 32, 100 + b);
    WriteFileBytes(folder + "/data_batch_" + std::to_string(b) + ".bin",
                   fake_data::CifarBytes(images));
  }
  WriteFileBytes(folder + "/test_batch.bin",
                 fake_data::CifarBytes(fake_data::MakeFakeImages(9, 3, 32, 32, 200)));
  WriteFileBytes(folder + "/batches.meta.txt", "airplane\nautomobile\n");
  WriteFileBytes(folder + "/readme.html", "<html></html>");
  if (symlink_member) {
    fs::remove(folder + "/test_batch.bin");
    fs::create_symlink("/etc/hostname", folder + "/test_batch.bin");
  }
  const std::string tarball = work + "/cifar-10-binary.tar.gz";
  const std::string command = "tar -czf '" + tarball + "' -C '" + work + "' cifar-10-batches-bin";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("tar failed");
  return ReadFileBytes(tarball);
}

// Serves `tarball` as /cifar/cifar-10-binary.tar.gz; options that fetch it.
FetchOptions ServeCifarTarball(TestHttpServer& server, const std::string& tarball) {
  server.Set("/cifar/cifar-10-binary.tar.gz", {200, tarball, {}, false});
  FetchOptions options;
  options.base_url = server.base() + "/cifar";
  options.md5_override["cifar-10-binary.tar.gz"] = Md5Hex(tarball);
  return options;
}

TEST(DataFetchTest, CifarTarballIsVerifiedExtractedAndFlattened) {
  ScopedTempDir tmp;
  TestHttpServer server;
  const FetchOptions options = ServeCifarTarball(server, MakeCifarTarball(tmp.path() + "/src"));
  const std::string data_dir = tmp.path() + "/data";
  const absl::Status status = FetchDataset("cifar10", data_dir, options);
  ASSERT_TRUE(status.ok()) << status;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(data_dir + "/cifar-10")) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names,
            (std::vector<std::string>{"batches.meta.txt", "data_batch_1.bin", "data_batch_2.bin",
                                      "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin",
                                      "test_batch.bin"}));
  const DatasetCheck train = Checked(data_dir, "cifar10");
  ASSERT_TRUE(train.complete) << FormatDataCheckReport(CheckData(data_dir));
  EXPECT_EQ(train.train_count, 35);
  // Complete: a second fetch downloads nothing.
  ASSERT_TRUE(FetchDataset("cifar10", data_dir, options).ok());
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(DataFetchTest, CifarArchiveWithSymlinkMemberMovesNothing) {
  ScopedTempDir tmp;
  TestHttpServer server;
  const FetchOptions options =
      ServeCifarTarball(server, MakeCifarTarball(tmp.path() + "/src", /*symlink_member=*/true));
  const std::string data_dir = tmp.path() + "/data";
  const absl::Status status = FetchDataset("cifar10", data_dir, options);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_NE(status.message().find("archive lacks regular files test_batch.bin"), std::string::npos)
      << status;
  EXPECT_FALSE(fs::exists(data_dir + "/cifar-10/data_batch_1.bin"));
  EXPECT_TRUE(Leftovers(data_dir).empty());
}

TEST(DataFetchTest, ConnectionErrorsAndBadArguments) {
  ScopedTempDir tmp;
  int port = 0;
  {
    TestHttpServer server;  // find a port, then free it
    port = std::stoi(server.base().substr(server.base().rfind(':') + 1));
  }
  FetchOptions options;
  options.base_url = "http://127.0.0.1:" + std::to_string(port);
  options.timeout_seconds = 5;
  EXPECT_EQ(FetchDataset("mnist", tmp.path(), options).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(FetchDataset("svhn", tmp.path(), options).code(), absl::StatusCode::kInvalidArgument);
  options.base_url = "ftp://example.com/x";
  EXPECT_EQ(FetchDataset("mnist", tmp.path(), options).code(), absl::StatusCode::kInvalidArgument);
}

// https goes through libcurl too: no curl program is needed (PATH is empty),
// and a refused connection is UNAVAILABLE naming the URL.
TEST(DataFetchTest, HttpsNeedsNoCurlProgram) {
  ScopedTempDir tmp;
  const char* old_path = std::getenv("PATH");
  const std::string saved = old_path != nullptr ? old_path : "";
  setenv("PATH", tmp.path().c_str(), 1);  // an empty directory: no curl
  FetchOptions options;
  options.base_url = "https://127.0.0.1:1/mnist";
  const absl::Status status = FetchDataset("mnist", tmp.path() + "/data", options);
  setenv("PATH", saved.c_str(), 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message().find("curl program"), std::string::npos) << status;
  EXPECT_NE(status.message().find("GET https://127.0.0.1:1/mnist/train-images-idx3-ubyte.gz: "),
            std::string::npos)
      << status;
}

// A file larger than max_bytes is refused whether its size is announced
// (Content-Length) or only seen while streaming (chunked); nothing lands.
TEST(DataFetchTest, OversizedFilesAreRefused) {
  for (const bool chunked : {false, true}) {
    ScopedTempDir tmp;
    TestHttpServer server;
    FetchOptions options;
    options.base_url = server.base() + "/mnist";
    ServeFakeMnist(server, tmp.path() + "/src", "mnist", &options, chunked);
    options.max_bytes = 100;
    const std::string data_dir = tmp.path() + "/data";
    const absl::Status status = FetchDataset("mnist", data_dir, options);
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
    EXPECT_EQ(status.message(), "GET " + server.base() +
                                    "/mnist/train-images-idx3-ubyte.gz: larger than the limit "
                                    "of 100 bytes")
        << chunked;
    EXPECT_TRUE(fs::is_empty(data_dir + "/mnist")) << chunked;
  }
  FetchOptions bad;
  bad.max_bytes = 0;
  EXPECT_EQ(FetchDataset("mnist", "/nonexistent", bad).code(),
            absl::StatusCode::kInvalidArgument);
}

// Redirects are followed at most 5 times: a loop is a clear error.
TEST(DataFetchTest, RedirectLoopIsRefused) {
  ScopedTempDir tmp;
  TestHttpServer server;
  TestHttpServer::Response loop;
  loop.status = 302;
  loop.headers = {"Location: /loop/train-images-idx3-ubyte.gz"};
  server.Set("/loop/train-images-idx3-ubyte.gz", loop);
  FetchOptions options;
  options.base_url = server.base() + "/loop";
  const absl::Status status = FetchDataset("mnist", tmp.path(), options);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "GET " + server.base() +
                                  "/loop/train-images-idx3-ubyte.gz: too many redirects (more "
                                  "than 5)");
  EXPECT_EQ(server.requests().size(), 6u);
  EXPECT_TRUE(fs::is_empty(tmp.path() + "/mnist"));
}

TEST(DataFetchTest, OfficialSourcesHaveChecksums) {
  const auto& sources = OfficialSources();
  ASSERT_EQ(sources.size(), 3u);
  for (const DatasetSource& source : sources) {
    EXPECT_FALSE(source.base_urls.empty());
    for (const RemoteFile& file : source.files) EXPECT_EQ(file.md5.size(), 32u) << file.name;
  }
  EXPECT_EQ(sources[2].files[0].md5, "c32a1d4ab5d03f1284b67883e8d87530");
}

}  // namespace data_fetch_test
}  // namespace
}  // namespace gridrun::datafetch
