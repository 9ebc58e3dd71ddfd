#include "common/status_macros.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace gridrun {
namespace {
namespace status_macros_test {

int calls = 0;

absl::Status Fails() {
  ++calls;
  return absl::NotFoundError("no such thing");
}
absl::Status Succeeds() {
  ++calls;
  return absl::OkStatus();
}
absl::StatusOr<std::unique_ptr<int>> MakeInt(bool ok) {
  ++calls;
  if (!ok) return absl::InvalidArgumentError("bad int");
  return std::make_unique<int>(41);
}

absl::Status UsesReturnIfError(bool fail, int* reached) {
  RETURN_IF_ERROR(Succeeds());
  if (fail) RETURN_IF_ERROR(Fails());
  *reached = 1;
  return absl::OkStatus();
}

absl::StatusOr<int> UsesAssignOrReturn(bool ok) {
  ASSIGN_OR_RETURN(std::unique_ptr<int> value, MakeInt(ok));  // move-only value
  int existing = 0;
  ASSIGN_OR_RETURN(existing, absl::StatusOr<int>(1));
  return *value + existing;
}

TEST(StatusMacrosTest, ReturnIfErrorPassesOkAndReturnsTheFirstError) {
  calls = 0;
  int reached = 0;
  EXPECT_TRUE(UsesReturnIfError(false, &reached).ok());
  EXPECT_EQ(reached, 1);
  reached = 0;
  absl::Status status = UsesReturnIfError(true, &reached);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no such thing");
  EXPECT_EQ(reached, 0);
  EXPECT_EQ(calls, 3);  // each expression evaluated exactly once
}

TEST(StatusMacrosTest, AssignOrReturnMovesTheValueOrReturnsTheStatus) {
  calls = 0;
  absl::StatusOr<int> good = UsesAssignOrReturn(true);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 42);
  absl::StatusOr<int> bad = UsesAssignOrReturn(false);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "bad int");
  EXPECT_EQ(calls, 2);
}

}  // namespace status_macros_test
}  // namespace
}  // namespace gridrun
