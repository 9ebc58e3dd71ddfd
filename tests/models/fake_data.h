// Test helper: writes tiny MNIST-style (IDX) and CIFAR-10-style (binary)
// data sets in the real on-disk formats and layout, plain or gzipped, so the
// loaders, trainers and metrics can be tested without the real data.
//
// Images have class-dependent patterns a small classifier learns in a few
// dozen steps: class k is a bright block at its own position (and, for
// CIFAR, its own colour) on a dim noisy background. Labels are balanced
// (i % 10, shuffled by the seed). Everything is a pure function of the seed.
//
// Typical use:
//   gridrun::fake_data::ScopedTempDir dir;
//   auto mnist = gridrun::fake_data::WriteFakeMnist(dir.path(), 200, 100, /*seed=*/1);
//   auto ds = LoadDataset("mnist", dir.path(), Split::kTrain);  // == mnist.train
//
// Header-only; needs zlib (linked by gridrun_models). Not thread-safe across
// tests that share a directory.
#pragma once

#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace gridrun::fake_data {

// A set of uint8 images [n, c, h, w] (row-major, CHW per image) and labels.
struct FakeImages {
  int64_t n = 0;
  int c = 1;
  int h = 28;
  int w = 28;
  std::vector<uint8_t> pixels;  // n * c * h * w
  std::vector<uint8_t> labels;  // n

  int64_t ImageBytes() const { return int64_t{c} * h * w; }
  const uint8_t* Image(int64_t i) const { return pixels.data() + i * ImageBytes(); }
};

// Deterministic class-patterned images (see the file comment).
inline FakeImages MakeFakeImages(int64_t n, int c, int h, int w, uint64_t seed,
                                 int num_classes = 10) {
  FakeImages out;
  out.n = n;
  out.c = c;
  out.h = h;
  out.w = w;
  out.labels.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out.labels[i] = static_cast<uint8_t>(i % num_classes);
  std::mt19937_64 rng(seed * 0x9e3779b97f4a7c15ULL + 12345);
  for (int64_t i = n - 1; i > 0; --i) {
    std::swap(out.labels[i], out.labels[rng() % static_cast<uint64_t>(i + 1)]);
  }
  out.pixels.resize(static_cast<size_t>(n * out.ImageBytes()));
  const int block = std::max(2, std::min(h, w) / 5);
  for (int64_t i = 0; i < n; ++i) {
    const int k = out.labels[i];
    // Class k: block at cell (k % 4, k / 4) of a 4x3 layout.
    const int top = 1 + (k / 4) * (h - block - 2) / 2;
    const int left = 1 + (k % 4) * (w - block - 2) / 3;
    uint8_t* img = out.pixels.data() + i * out.ImageBytes();
    for (int ch = 0; ch < c; ++ch) {
      // CIFAR-like: class colour; channel ch is bright when bit ch of k+1 set.
      const bool bright = c == 1 || (((k + 1) >> ch) & 1) != 0 || k == 9;
      for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
          const bool in_block = y >= top && y < top + block && x >= left && x < left + block;
          const uint8_t noise = static_cast<uint8_t>(rng() % 40);
          img[(ch * h + y) * w + x] =
              in_block ? static_cast<uint8_t>(bright ? 215 + noise : 60 + noise) : noise;
        }
      }
    }
  }
  return out;
}

// Writes `bytes` to `path` (parents created), gzip-compressed if `gzip`.
inline void WriteFileBytes(const std::string& path, const std::string& bytes, bool gzip = false) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  if (gzip) {
    gzFile gz = gzopen(path.c_str(), "wb6");
    if (gz == nullptr) throw std::runtime_error("gzopen failed: " + path);
    if (!bytes.empty() && gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())) !=
                              static_cast<int>(bytes.size())) {
      gzclose(gz);
      throw std::runtime_error("gzwrite failed: " + path);
    }
    gzclose(gz);
    return;
  }
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("write failed: " + path);
}

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

inline void AppendBigEndian32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

// IDX bytes with an arbitrary magic and dimensions (for corrupt-file tests).
inline std::string IdxBytes(uint32_t magic, const std::vector<uint32_t>& dims,
                            const std::string& payload) {
  std::string out;
  AppendBigEndian32(&out, magic);
  for (uint32_t d : dims) AppendBigEndian32(&out, d);
  return out + payload;
}

inline std::string IdxImagesBytes(const FakeImages& images) {
  return IdxBytes(0x00000803,
                  {static_cast<uint32_t>(images.n), static_cast<uint32_t>(images.h),
                   static_cast<uint32_t>(images.w)},
                  std::string(images.pixels.begin(), images.pixels.end()));
}

inline std::string IdxLabelsBytes(const FakeImages& images) {
  return IdxBytes(0x00000801, {static_cast<uint32_t>(images.n)},
                  std::string(images.labels.begin(), images.labels.end()));
}

// CIFAR-10 binary records: <label><3072 pixel bytes> per image.
inline std::string CifarBytes(const FakeImages& images) {
  std::string out;
  out.reserve(static_cast<size_t>(images.n * (1 + images.ImageBytes())));
  for (int64_t i = 0; i < images.n; ++i) {
    out.push_back(static_cast<char>(images.labels[i]));
    out.append(reinterpret_cast<const char*>(images.Image(i)),
               static_cast<size_t>(images.ImageBytes()));
  }
  return out;
}

struct FakeFileOptions {
  bool gzip = true;               // write "<name>.gz" instead of "<name>"
  std::string dataset = "mnist";  // IDX data sets: "mnist" or "fashion-mnist"
};

struct FakeSplits {
  FakeImages train;
  FakeImages test;
};

// Writes <data_dir>/<dataset>/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
// with n_train / n_test 1x28x28 images; returns what was written.
inline FakeSplits WriteFakeMnist(const std::string& data_dir, int64_t n_train, int64_t n_test,
                                 uint64_t seed, const FakeFileOptions& options = {}) {
  FakeSplits splits{MakeFakeImages(n_train, 1, 28, 28, seed),
                    MakeFakeImages(n_test, 1, 28, 28, seed + 1000003)};
  const std::string dir = data_dir + "/" + options.dataset + "/";
  const std::string ext = options.gzip ? ".gz" : "";
  WriteFileBytes(dir + "train-images-idx3-ubyte" + ext, IdxImagesBytes(splits.train), options.gzip);
  WriteFileBytes(dir + "train-labels-idx1-ubyte" + ext, IdxLabelsBytes(splits.train), options.gzip);
  WriteFileBytes(dir + "t10k-images-idx3-ubyte" + ext, IdxImagesBytes(splits.test), options.gzip);
  WriteFileBytes(dir + "t10k-labels-idx1-ubyte" + ext, IdxLabelsBytes(splits.test), options.gzip);
  return splits;
}

// Writes <data_dir>/cifar-10/data_batch_1.bin[.gz] .. data_batch_<train_batches>
// (n 3x32x32 images each) and test_batch.bin[.gz] (n images). `train` in the
// result holds all training batches concatenated in order.
inline FakeSplits WriteFakeCifar10(const std::string& data_dir, int64_t n, uint64_t seed,
                                   bool gzip = true, int train_batches = 1) {
  const std::string dir = data_dir + "/cifar-10/";
  const std::string ext = gzip ? ".gz" : "";
  FakeSplits splits;
  splits.train.n = 0;
  splits.train.c = 3;
  splits.train.h = 32;
  splits.train.w = 32;
  for (int b = 1; b <= train_batches; ++b) {
    FakeImages batch = MakeFakeImages(n, 3, 32, 32, seed + 7919 * b);
    WriteFileBytes(dir + "data_batch_" + std::to_string(b) + ".bin" + ext, CifarBytes(batch), gzip);
    splits.train.n += batch.n;
    splits.train.pixels.insert(splits.train.pixels.end(), batch.pixels.begin(), batch.pixels.end());
    splits.train.labels.insert(splits.train.labels.end(), batch.labels.begin(), batch.labels.end());
  }
  splits.test = MakeFakeImages(n, 3, 32, 32, seed + 1000003);
  WriteFileBytes(dir + "test_batch.bin" + ext, CifarBytes(splits.test), gzip);
  return splits;
}

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class ScopedTempDir {
 public:
  ScopedTempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ =
        std::string(tmp != nullptr && tmp[0] != '\0' ? tmp : "/tmp") + "/gridrun-test-XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~ScopedTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace gridrun::fake_data
