#include "models/data_fetch.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "models/dataset.h"
#include "tests/models/fake_data.h"

namespace gridrun::models {
namespace {

namespace fs = std::filesystem;
using fake_data::ReadFileBytes;
using fake_data::ScopedTempDir;
using fake_data::WriteFileBytes;

// A one-thread HTTP/1.1 server on 127.0.0.1 serving fixed responses by path.
class TestHttpServer {
 public:
  struct Response {
    int status = 200;
    std::string body;
    std::vector<std::string> headers;  // extra "Name: value" lines
    bool chunked = false;
  };

  TestHttpServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listen_fd_, 16) != 0) {
      throw std::runtime_error("test server: bind/listen failed");
    }
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TestHttpServer() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void Set(const std::string& path, Response response) {
    std::lock_guard<std::mutex> lock(mu_);
    routes_[path] = std::move(response);
  }
  std::vector<std::string> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd pfd{listen_fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 50) <= 0) continue;
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      Handle(fd);
      ::close(fd);
    }
  }

  void Handle(int fd) {
    std::string request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) return;
      request.append(buf, static_cast<size_t>(n));
    }
    const size_t sp1 = request.find(' ');
    const size_t sp2 = request.find(' ', sp1 + 1);
    const std::string target = request.substr(sp1 + 1, sp2 - sp1 - 1);
    Response response;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(target);
      const auto it = routes_.find(target);
      if (it == routes_.end()) {
        response.status = 404;
        response.body = "no such file";
      } else {
        response = it->second;
      }
    }
    const char* reason = response.status == 200   ? "OK"
                         : response.status == 404 ? "Not Found"
                         : response.status == 302 ? "Found"
                                                  : "Error";
    std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " + reason + "\r\n";
    for (const std::string& h : response.headers) out += h + "\r\n";
    out += "Connection: close\r\n";
    if (response.chunked) {
      out += "Transfer-Encoding: chunked\r\n\r\n";
      for (size_t at = 0; at < response.body.size(); at += 1000) {
        const std::string piece = response.body.substr(at, 1000);
        char size[32];
        std::snprintf(size, sizeof(size), "%zx;ext=1\r\n", piece.size());
        out += size + piece + "\r\n";
      }
      out += "0\r\nX-Trailer: 1\r\n\r\n";
    } else {
      out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n\r\n" + response.body;
    }
    for (size_t sent = 0; sent < out.size();) {
      const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::map<std::string, Response> routes_;
  std::vector<std::string> requests_;
};

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
  absl::StatusOr<Dataset> loaded = LoadDataset("mnist", data_dir, Split::kTrain);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->size(), 30);
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
  absl::StatusOr<Dataset> test = LoadDataset("fashion-mnist", tmp.path() + "/data", Split::kTest);
  ASSERT_TRUE(test.ok()) << test.status();
  EXPECT_EQ(test->size(), 6);
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

TEST(DataFetchTest, CifarTarballIsVerifiedExtractedAndFlattened) {
  ScopedTempDir tmp;
  TestHttpServer server;
  const std::string tarball = MakeCifarTarball(tmp.path() + "/src");
  server.Set("/cifar/cifar-10-binary.tar.gz", {200, tarball, {}, false});
  FetchOptions options;
  options.base_url = server.base() + "/cifar";
  options.md5_override["cifar-10-binary.tar.gz"] = Md5Hex(tarball);
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
  absl::StatusOr<Dataset> train = LoadDataset("cifar10", data_dir, Split::kTrain);
  ASSERT_TRUE(train.ok()) << train.status();
  EXPECT_EQ(train->size(), 35);
  // Complete: a second fetch downloads nothing.
  ASSERT_TRUE(FetchDataset("cifar10", data_dir, options).ok());
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(DataFetchTest, CifarArchiveWithSymlinkMemberMovesNothing) {
  ScopedTempDir tmp;
  TestHttpServer server;
  const std::string tarball = MakeCifarTarball(tmp.path() + "/src", /*symlink_member=*/true);
  server.Set("/cifar/cifar-10-binary.tar.gz", {200, tarball, {}, false});
  FetchOptions options;
  options.base_url = server.base() + "/cifar";
  options.md5_override["cifar-10-binary.tar.gz"] = Md5Hex(tarball);
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

TEST(DataFetchTest, HttpsWithoutCurlSaysSo) {
  ScopedTempDir tmp;
  const char* old_path = std::getenv("PATH");
  const std::string saved = old_path != nullptr ? old_path : "";
  setenv("PATH", tmp.path().c_str(), 1);  // an empty directory: no curl
  FetchOptions options;
  options.base_url = "https://127.0.0.1:1/mnist";
  const absl::Status status = FetchDataset("mnist", tmp.path() + "/data", options);
  setenv("PATH", saved.c_str(), 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("need the curl program"), std::string::npos) << status;
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

// ---- gridrun data check ----------------------------------------------------------

const DatasetCheck& Find(const DataCheckReport& report, const std::string& name) {
  for (const DatasetCheck& ds : report.datasets) {
    if (ds.name == name) return ds;
  }
  throw std::runtime_error("no " + name);
}

TEST(DataFetchCheckTest, ReportsPresenceValidityAndCounts) {
  ScopedTempDir tmp;
  fake_data::WriteFakeMnist(tmp.path(), 40, 20, 1);
  fake_data::WriteFakeMnist(tmp.path(), 40, 20, 1, {false, "fashion-mnist"});
  fake_data::WriteFakeCifar10(tmp.path(), 11, 1, true, /*train_batches=*/2);
  // Fashion-MNIST: cut the test images short (a raw file), drop the train labels.
  const std::string images = tmp.path() + "/fashion-mnist/t10k-images-idx3-ubyte";
  WriteFileBytes(images, ReadFileBytes(images).substr(0, 1000));
  fs::remove(tmp.path() + "/fashion-mnist/train-labels-idx1-ubyte");

  const DataCheckReport report = CheckData(tmp.path());
  ASSERT_EQ(report.datasets.size(), 3u);
  const DatasetCheck& mnist = Find(report, "mnist");
  EXPECT_TRUE(mnist.usable);
  EXPECT_TRUE(mnist.complete);
  EXPECT_EQ(mnist.train_count, 40);
  EXPECT_EQ(mnist.test_count, 20);
  ASSERT_EQ(mnist.files.size(), 4u);
  EXPECT_EQ(mnist.files[0].path, tmp.path() + "/mnist/train-images-idx3-ubyte.gz");

  const DatasetCheck& fashion = Find(report, "fashion-mnist");
  EXPECT_FALSE(fashion.usable);
  EXPECT_FALSE(fashion.files[1].present);  // train labels
  EXPECT_FALSE(fashion.files[2].valid);    // t10k images
  EXPECT_EQ(fashion.files[2].error,
            images +
                ": truncated: header says 20 images of 28x28 (15696 bytes) but file has "
                "1000 bytes");

  const DatasetCheck& cifar = Find(report, "cifar10");
  EXPECT_TRUE(cifar.usable);
  EXPECT_FALSE(cifar.complete);
  EXPECT_EQ(cifar.train_count, 22);
  EXPECT_EQ(cifar.test_count, 11);

  const std::string text = FormatDataCheckReport(report);
  EXPECT_NE(text.find("mnist: complete, train 40, test 20"), std::string::npos) << text;
  EXPECT_NE(text.find("missing  train-labels-idx1-ubyte[.gz]"), std::string::npos) << text;
  EXPECT_NE(text.find("fix: gridrun data fetch fashion-mnist"), std::string::npos) << text;
  EXPECT_NE(text.find("cifar10: usable (incomplete), train 22, test 11"), std::string::npos)
      << text;
}

TEST(DataFetchCheckTest, TruncatedGzipIsCaughtByItsTrailer) {
  ScopedTempDir tmp;
  fake_data::WriteFakeMnist(tmp.path(), 40, 20, 1);
  const std::string path = tmp.path() + "/mnist/train-images-idx3-ubyte.gz";
  const std::string bytes = ReadFileBytes(path);
  WriteFileBytes(path, bytes.substr(0, bytes.size() - 100));
  const DatasetCheck& mnist = Find(CheckData(tmp.path()), "mnist");
  EXPECT_FALSE(mnist.usable);
  EXPECT_FALSE(mnist.files[0].valid);
  EXPECT_FALSE(mnist.files[0].error.empty());
}

TEST(DataFetchCheckTest, RealSharedDataIfPresent) {
  const char* env = std::getenv("GRIDRUN_SHARED_DATA");
  if (env == nullptr || !fs::exists(std::string(env) + "/mnist")) {
    GTEST_SKIP() << "real data not found at " << (env != nullptr ? env : "(unset)");
  }
  const DataCheckReport report = CheckData(env);
  const DatasetCheck& mnist = Find(report, "mnist");
  EXPECT_TRUE(mnist.complete) << FormatDataCheckReport(report);
  EXPECT_EQ(mnist.train_count, 60000);
  EXPECT_EQ(mnist.test_count, 10000);
  const DatasetCheck& cifar = Find(report, "cifar10");
  EXPECT_TRUE(cifar.usable) << FormatDataCheckReport(report);
  EXPECT_EQ(cifar.train_count, 10000);
  // The shared files are the official ones.
  for (const std::string& name : kMnistFiles) {
    EXPECT_EQ(*Md5FileHex(std::string(env) + "/mnist/" + name),
              OfficialSources()[0].files[&name - &kMnistFiles[0]].md5);
  }
}

}  // namespace
}  // namespace gridrun::models
