// The worker's side of proto convention 8e, against an in-process
// coordinator: a completion that leases the next trial carries the trial's
// last points and progress (CoordinatorSink::CompleteAndLease), one call
// where Flush() and the completion took three, and every point is stored.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "proto/gridrun.pb.h"
#include "tests/integration/coordinator_fixture.h"
#include "worker/coordinator_client.h"
#include "worker/coordinator_sink.h"

namespace gridrun::testing {
namespace {
namespace last_report_on_completion_test {

class LastReportOnCompletionTest : public CoordinatorFixture {
 protected:
  int64_t CallsSoFar() { return server_->group_commit_stats().calls; }

  // Waits (at most 10 s) until the coordinator has run more than `calls`
  // group-committed calls.
  void WaitForCallsAfter(int64_t calls) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (CallsSoFar() <= calls && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_GT(CallsSoFar(), calls) << "no call reached the coordinator in 10 s";
  }
};

TEST_F(LastReportOnCompletionTest, TheCompletionCarriesTheLastPointsAndProgressInOneCall) {
  const std::string id = Submit(SmallSpec("last-report")).experiment_id();
  worker::WorkerClient client(client_);
  ASSERT_TRUE(client.Register("test-host", 1, "cpu", 0).ok());
  EXPECT_TRUE(client.completion_takes_points());
  auto lease = client.Lease();
  ASSERT_TRUE(lease.ok()) << lease.status();
  ASSERT_TRUE(lease->trial.has_value());
  const worker::LeasedTrial trial = *lease->trial;

  std::optional<worker::LeaseReply> next;
  {
    const int64_t before_sink = CallsSoFar();
    worker::CoordinatorSink sink(&client, trial);
    // The reporter's thread heartbeats once as it starts; the next one is
    // lease_timeout / 3 away and no batch is due for a second (or 100
    // points), so what follows reaches the coordinator only as the
    // completion.
    WaitForCallsAfter(before_sink);
    const int64_t before = CallsSoFar();
    for (int step = 1; step <= 30; ++step) sink.Metric("loss", step, 1, 0.5 * step);
    sink.Progress(1, 30, 30, 100.0);
    auto completed = sink.CompleteAndLease({{"final_loss", 15.0}});
    ASSERT_TRUE(completed.ok()) << completed.status();
    EXPECT_EQ(CallsSoFar() - before, 1);
    next = *completed;
  }
  ASSERT_TRUE(next.has_value());  // 8b: the reply carried the next lease
  ASSERT_TRUE(next->trial.has_value());
  EXPECT_NE(next->trial->trial_id, trial.trial_id);

  auto points = server_->store()->ListMetrics(trial.trial_id);
  ASSERT_TRUE(points.ok()) << points.status();
  ASSERT_EQ(points->size(), 30u);
  for (size_t i = 0; i < points->size(); ++i) {
    EXPECT_EQ((*points)[i].step, static_cast<int64_t>(i + 1));
    EXPECT_EQ((*points)[i].value, 0.5 * static_cast<double>(i + 1));
  }
  v1::GetTrialRequest get;
  get.set_experiment_id(id);
  get.set_number(0);
  v1::TrialDetail detail;
  ASSERT_TRUE(grid_->GetTrial(Ctx().get(), get, &detail).ok());
  ASSERT_EQ(detail.trial().trial_id(), trial.trial_id);
  EXPECT_EQ(detail.trial().state(), v1::TRIAL_COMPLETE);
  EXPECT_EQ(detail.trial().progress().step(), 30);
  EXPECT_EQ(detail.trial().progress().total_steps(), 30);
  EXPECT_EQ(detail.trial().latest_metrics().at("loss"), 15.0);
}

TEST_F(LastReportOnCompletionTest, NoPointsGoToACoordinatorThatDidNotSayItTakesThem) {
  // A client that has not registered has heard no protocol level: as with
  // a coordinator older than convention 8e, CompleteAndLease refuses the
  // points before sending anything.
  worker::WorkerClient client(client_);
  EXPECT_FALSE(client.completion_takes_points());
  v1::ReportMetricsRequest last;
  last.add_points()->set_name("loss");
  worker::TrialProgress progress;
  worker::LeasedTrial trial;
  trial.trial_id = 1;
  trial.attempt = 1;
  const int64_t before = CallsSoFar();
  auto completed = client.CompleteAndLease(trial, {}, &last, &progress);
  EXPECT_EQ(completed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(last.points_size(), 1);  // still the caller's
  EXPECT_EQ(CallsSoFar(), before);
}

}  // namespace last_report_on_completion_test
}  // namespace
}  // namespace gridrun::testing
