// SubmitGrid does bounded work per request: a spec whose YAML aliases expand
// to billions of nodes is refused at once, naming the limit, and a call
// whose client has gone (deadline passed) stops and stores nothing.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/coordinator/alias_bombs.h"
#include "tests/integration/coordinator_fixture.h"

namespace gridrun::testing {
namespace {
namespace submit_grid_limits_test {

class SubmitGridLimitsTest : public CoordinatorFixture {
 protected:
  int ExperimentCount() {
    v1::ListExperimentsRequest request;
    v1::ListExperimentsResponse response;
    EXPECT_TRUE(grid_->ListExperiments(Ctx().get(), request, &response).ok());
    return response.experiments_size();
  }
};

TEST_F(SubmitGridLimitsTest, AliasBombsAreRefusedInWellUnderASecond) {
  for (const std::string& yaml : {test_specs::AliasBombSpec(), test_specs::MergeKeyBombSpec()}) {
    v1::SubmitGridRequest request;
    request.set_spec_yaml(yaml);
    v1::SubmitGridResponse response;
    const auto start = std::chrono::steady_clock::now();
    grpc::Status status = grid_->SubmitGrid(Ctx().get(), request, &response);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message(), test_specs::TooManyNodesError(yaml));
    EXPECT_LT(seconds, 0.5);
  }
  EXPECT_EQ(ExperimentCount(), 0);
  // The server is still there for the next call.
  EXPECT_EQ(Submit(SmallSpec()).trial_count(), 4);
}

TEST_F(SubmitGridLimitsTest, ADeadlineThatPassesStopsTheWork) {
  // 10,000 trials: expanding and storing them takes far longer than the
  // client waits.
  std::string seeds, widths;
  for (int i = 0; i < 100; ++i) {
    absl::StrAppend(&seeds, i == 0 ? "" : ", ", i);
    absl::StrAppend(&widths, i == 0 ? "" : ", ", i + 1);
  }
  v1::SubmitGridRequest request;
  request.set_spec_yaml(absl::StrCat("experiment: big\ndataset: mnist\nmodel: vae-mlp\ngrid:\n",
                                     "  seed: [", seeds, "]\n  width: [", widths, "]\n"));
  v1::SubmitGridResponse response;
  // Connected first, so the request reaches the server within its deadline.
  ASSERT_EQ(ExperimentCount(), 0);
  grpc::ClientContext context;
  PrepareContext(&context, client_, std::chrono::milliseconds(50));
  grpc::Status status = grid_->SubmitGrid(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  // Had the server gone on, it would store the experiment within this time.
  for (int i = 0; i < 30; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_EQ(ExperimentCount(), 0) << "the server stored a grid its client had given up on";
  }
}

}  // namespace submit_grid_limits_test
}  // namespace
}  // namespace gridrun::testing
