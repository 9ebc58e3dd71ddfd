// Bearer-token authentication for every coordinator RPC.
//
// With a token configured, each call must carry the metadata
// `authorization: Bearer <token>`; the comparison takes constant time and the
// token never appears in logs or error messages. Without a token every call
// is allowed (loopback / trusted networks). Thread-safe: immutable after
// construction.
#pragma once

#include <grpcpp/server_context.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gridrun::coordinator {

class TokenAuthenticator {
 public:
  // An empty token disables authentication.
  explicit TokenAuthenticator(std::string token) : token_(std::move(token)) {}

  bool enabled() const { return !token_.empty(); }

  // OK, or UNAUTHENTICATED saying what is missing or wrong (never the token).
  // Works for both APIs' contexts (grpc::ServerContext, CallbackServerContext).
  absl::Status Check(const grpc::ServerContextBase& context) const;
  // Same check on a raw metadata value (for tests and other transports).
  absl::Status CheckHeader(std::string_view authorization_value, bool present) const;

 private:
  std::string token_;
};

}  // namespace gridrun::coordinator
