// SHA-256 digests as lowercase hex, for config hashes and checkpoint
// integrity; MD5 digests the same way, only to compare downloads with the
// checksums data set publishers give (never for integrity against an
// attacker). Thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gridrun {

// Hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// Hex MD5 of `data`.
std::string Md5Hex(std::string_view data);

// Incremental digest of streamed data (checkpoint chunks, downloads);
// Sha256Builder and Md5Builder below choose the algorithm.
class HexDigestBuilder {
 public:
  ~HexDigestBuilder();
  HexDigestBuilder(const HexDigestBuilder&) = delete;
  HexDigestBuilder& operator=(const HexDigestBuilder&) = delete;

  void Update(std::string_view data);
  // Returns the hex digest; the builder must not be updated afterwards.
  std::string FinishHex();

 protected:
  enum class Algorithm { kSha256, kMd5 };
  explicit HexDigestBuilder(Algorithm algorithm);

 private:
  struct State;
  State* state_;
};

class Sha256Builder : public HexDigestBuilder {
 public:
  Sha256Builder() : HexDigestBuilder(Algorithm::kSha256) {}
};

class Md5Builder : public HexDigestBuilder {
 public:
  Md5Builder() : HexDigestBuilder(Algorithm::kMd5) {}
};

}  // namespace gridrun
