#include "common/sha256.h"

#include <openssl/evp.h>

#include <stdexcept>

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

struct Sha256Builder::State {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256Builder::Sha256Builder() : state_(new State) {
  state_->ctx = EVP_MD_CTX_new();
  if (state_->ctx == nullptr ||
      EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL: cannot initialise SHA-256");
  }
}

Sha256Builder::~Sha256Builder() {
  EVP_MD_CTX_free(state_->ctx);
  delete state_;
}

void Sha256Builder::Update(std::string_view data) {
  EVP_DigestUpdate(state_->ctx, data.data(), data.size());
}

std::string Sha256Builder::FinishHex() {
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

}  // namespace gridrun
