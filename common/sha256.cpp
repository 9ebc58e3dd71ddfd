#include "common/sha256.h"

#include <openssl/evp.h>

#include <stdexcept>
#include <string>

namespace gridrun {
namespace {

std::string ToHex(const unsigned char* bytes, unsigned int n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(2 * n, '0');
  for (unsigned int i = 0; i < n; ++i) {
    hex[2 * i] = kDigits[bytes[i] >> 4];
    hex[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return hex;
}

}  // namespace

struct HexDigestBuilder::State {
  EVP_MD_CTX* ctx = nullptr;
};

HexDigestBuilder::HexDigestBuilder(Algorithm algorithm) : state_(new State) {
  const bool sha256 = algorithm == Algorithm::kSha256;
  state_->ctx = EVP_MD_CTX_new();
  if (state_->ctx == nullptr ||
      EVP_DigestInit_ex(state_->ctx, sha256 ? EVP_sha256() : EVP_md5(), nullptr) != 1) {
    EVP_MD_CTX_free(state_->ctx);
    delete state_;
    throw std::runtime_error(std::string("OpenSSL: cannot initialise ") +
                             (sha256 ? "SHA-256" : "MD5"));
  }
}

HexDigestBuilder::~HexDigestBuilder() {
  EVP_MD_CTX_free(state_->ctx);
  delete state_;
}

void HexDigestBuilder::Update(std::string_view data) {
  EVP_DigestUpdate(state_->ctx, data.data(), data.size());
}

std::string HexDigestBuilder::FinishHex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(state_->ctx, digest, &length);
  return ToHex(digest, length);
}

std::string Sha256Hex(std::string_view data) {
  Sha256Builder builder;
  builder.Update(data);
  return builder.FinishHex();
}

std::string Md5Hex(std::string_view data) {
  Md5Builder builder;
  builder.Update(data);
  return builder.FinishHex();
}

}  // namespace gridrun
