// Who may talk to the dashboard, and how often.
//
// 1. A server listening on a loopback address without a token file serves
//    anyone who can reach it (only local users), but only requests whose Host
//    header names a loopback host: a web page elsewhere cannot read it
//    through DNS rebinding.
// 2. Any other listen address needs a token file; then every request (the
//    API, the page and its assets alike) must carry the token as
//    "Authorization: Bearer TOKEN" or in the cookie "gridrun_token", which
//    GET /login?token=TOKEN sets (and redirects to "/", taking the token out of
//    the address bar). Everything else is answered 401.
// 3. Each client address may make `rate` requests per second on average,
//    with bursts up to `burst`; past that, 429.
//
// Thread-safety: TokenGate is immutable after construction; RateLimiter is
// internally synchronised.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"

namespace gridrun::ui {

// Whether `host` (an address or host name, IPv6 with or without brackets)
// is a loopback host: localhost, 127.0.0.0/8, ::1.
bool IsLoopbackHost(const std::string& host);

// The host part of a Host header ("localhost:8080" -> "localhost",
// "[::1]:80" -> "::1").
std::string HostOfHostHeader(const std::string& header);

// Reads a token file: its first line, trimmed. INVALID_ARGUMENT when it
// cannot be read or the token is shorter than 16 characters.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

class TokenGate {
 public:
  // `token` empty: no token needed.
  explicit TokenGate(std::string token) : token_(std::move(token)) {}
  bool required() const { return !token_.empty(); }
  // Whether the Authorization header or the Cookie header carries the token
  // (constant-time comparison). True when no token is required.
  bool Allows(const std::string& authorization_header, const std::string& cookie_header) const;
  // Whether `candidate` is the token (constant time).
  bool Matches(const std::string& candidate) const;
  // The Set-Cookie value that carries the token.
  std::string CookieHeader() const;

 private:
  std::string token_;
};

class RateLimiter {
 public:
  RateLimiter(double rate_per_second, double burst) : rate_(rate_per_second), burst_(burst) {}
  // Takes one request from `client`'s bucket; false when it is empty.
  bool Allow(const std::string& client, int64_t now_ms);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t last_ms = 0;
  };
  static constexpr size_t kMaxClients = 10'000;  // forget everyone past this
  std::mutex mutex_;
  double rate_;
  double burst_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace gridrun::ui
