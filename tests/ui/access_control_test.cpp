// The dashboard's access rules: what counts as loopback, Host headers, the
// token gate (header, cookie, constant-time match) and the rate limiter.
#include "ui/access_control.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace gridrun::ui {
namespace {
namespace access_control_test {

TEST(UiAccessControlTest, LoopbackHosts) {
  for (const char* host : {"127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host :
       {"0.0.0.0", "10.0.0.1", "::", "example.com", "localhost.evil.com", "128.0.0.1", ""}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
  EXPECT_EQ(HostOfHostHeader("localhost:8080"), "localhost");
  EXPECT_EQ(HostOfHostHeader("[::1]:80"), "::1");
  EXPECT_EQ(HostOfHostHeader("evil.com"), "evil.com");
}

TEST(UiAccessControlTest, TokenGateAcceptsBearerOrCookieOnly) {
  const TokenGate gate("0123456789abcdef-secret");
  EXPECT_TRUE(gate.required());
  EXPECT_TRUE(gate.Allows("Bearer 0123456789abcdef-secret", ""));
  EXPECT_TRUE(gate.Allows("", "a=b; gridrun_token=0123456789abcdef-secret; c=d"));
  EXPECT_FALSE(gate.Allows("", ""));
  EXPECT_FALSE(gate.Allows("Bearer 0123456789abcdef-secreT", ""));
  EXPECT_FALSE(gate.Allows("Bearer 0123456789abcdef-secret-longer", ""));
  EXPECT_FALSE(gate.Allows("Basic 0123456789abcdef-secret", ""));
  EXPECT_FALSE(gate.Allows("", "other_token=0123456789abcdef-secret"));
  EXPECT_FALSE(gate.Matches(""));
  EXPECT_NE(gate.CookieHeader().find("HttpOnly"), std::string::npos);
  EXPECT_NE(gate.CookieHeader().find("SameSite=Strict"), std::string::npos);
  const TokenGate open("");
  EXPECT_FALSE(open.required());
  EXPECT_TRUE(open.Allows("", ""));
  EXPECT_FALSE(open.Matches(""));
}

TEST(UiAccessControlTest, TokenFileNeedsSixteenCharacters) {
  const std::string path = ::testing::TempDir() + "/ui-token-" + std::to_string(getpid());
  std::ofstream(path) << "  short  \n";
  EXPECT_FALSE(ReadTokenFile(path).ok());
  std::ofstream(path) << "  0123456789abcdef  \nsecond line\n";
  auto token = ReadTokenFile(path);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "0123456789abcdef");
  std::filesystem::remove(path);
  EXPECT_FALSE(ReadTokenFile(path).ok());
}

TEST(UiAccessControlTest, RateLimiterAllowsBurstThenRate) {
  RateLimiter limiter(/*rate_per_second=*/10, /*burst=*/5);
  int allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += limiter.Allow("a", 1000);
  EXPECT_EQ(allowed, 5);
  EXPECT_TRUE(limiter.Allow("b", 1000)) << "clients have separate buckets";
  EXPECT_FALSE(limiter.Allow("a", 1050));  // half a token refilled
  EXPECT_TRUE(limiter.Allow("a", 1100));   // one token after 100 ms
  EXPECT_FALSE(limiter.Allow("a", 1100));
}

}  // namespace access_control_test
}  // namespace
}  // namespace gridrun::ui
