#include "coordinator/auth.h"

#include <openssl/crypto.h>


namespace gridrun::coordinator {
namespace {

constexpr std::string_view kBearerPrefix = "Bearer ";

// Constant-time equality for equal lengths; a length mismatch returns early,
// which leaks only the length (the token is random and fixed-size in practice).
bool SecureEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

absl::Status TokenAuthenticator::CheckHeader(std::string_view value, bool present) const {
  if (!enabled()) return absl::OkStatus();
  if (!present) {
    return absl::UnauthenticatedError(
        "missing 'authorization' metadata: this coordinator requires a bearer token "
        "(--token-file / GRIDRUN_TOKEN_FILE)");
  }
  if (value.substr(0, kBearerPrefix.size()) != kBearerPrefix) {
    return absl::UnauthenticatedError("'authorization' metadata is not 'Bearer <token>'");
  }
  if (!SecureEquals(value.substr(kBearerPrefix.size()), token_)) {
    return absl::UnauthenticatedError("invalid bearer token");
  }
  return absl::OkStatus();
}

absl::Status TokenAuthenticator::Check(const grpc::ServerContextBase& context) const {
  if (!enabled()) return absl::OkStatus();
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return CheckHeader("", false);
  return CheckHeader(std::string_view(it->second.data(), it->second.size()), true);
}

}  // namespace gridrun::coordinator
