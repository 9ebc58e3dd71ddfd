// Loopback checks, the token gate and the per-client rate limiter.
#include "ui/access_control.h"

#include <arpa/inet.h>

#include <algorithm>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace gridrun::ui {
namespace {

constexpr char kCookieName[] = "gridrun_token";

// Compares in time that depends on a's length only, not on where they differ.
bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  if (b.empty()) return false;
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i % b.size()];
  return diff == 0;
}

}  // namespace

bool IsLoopbackHost(const std::string& raw) {
  std::string host = absl::AsciiStrToLower(raw);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost" || host == "::1") return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  return false;
}

std::string HostOfHostHeader(const std::string& header) {
  if (!header.empty() && header.front() == '[') {
    const size_t close = header.find(']');
    return close == std::string::npos ? header : header.substr(1, close - 1);
  }
  const size_t colon = header.find(':');
  return colon == std::string::npos ? header : header.substr(0, colon);
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  if (!file || !std::getline(file, line)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read token file ", path));
  }
  std::string token(absl::StripAsciiWhitespace(line));
  if (token.size() < 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("token file ", path, " holds a token shorter than 16 characters"));
  }
  return token;
}

bool TokenGate::Matches(const std::string& candidate) const {
  return ConstantTimeEquals(candidate, token_);
}

bool TokenGate::Allows(const std::string& authorization, const std::string& cookies) const {
  if (!required()) return true;
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.rfind(kBearer, 0) == 0 &&
      Matches(std::string(absl::StripAsciiWhitespace(authorization.substr(kBearer.size()))))) {
    return true;
  }
  for (absl::string_view cookie : absl::StrSplit(cookies, ';')) {
    cookie = absl::StripAsciiWhitespace(cookie);
    if (absl::ConsumePrefix(&cookie, absl::StrCat(kCookieName, "=")) &&
        Matches(std::string(cookie))) {
      return true;
    }
  }
  return false;
}

std::string TokenGate::CookieHeader() const {
  return absl::StrCat(kCookieName, "=", token_, "; Path=/; HttpOnly; SameSite=Strict");
}

bool RateLimiter::Allow(const std::string& client, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (buckets_.size() >= kMaxClients && !buckets_.count(client)) buckets_.clear();
  auto [it, inserted] = buckets_.try_emplace(client);
  Bucket& bucket = it->second;
  if (inserted) {
    bucket.tokens = burst_;
  } else {
    bucket.tokens = std::min(burst_, bucket.tokens + rate_ * (now_ms - bucket.last_ms) / 1000.0);
  }
  bucket.last_ms = now_ms;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

}  // namespace gridrun::ui
