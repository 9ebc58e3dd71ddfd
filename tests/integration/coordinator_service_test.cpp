// Every RPC of proto/gridrun.proto through a real in-process gRPC server,
// including each error code the protocol promises.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/integration/coordinator_fixture.h"

namespace gridrun::testing {
namespace {
namespace coordinator_service_test {

using ::testing::HasSubstr;

class CoordinatorServiceTest : public CoordinatorFixture {};

std::string FakePng(size_t size = 64) {
  std::string png("\x89PNG\r\n\x1a\n", 8);
  png.resize(size, 'x');
  return png;
}

TEST_F(CoordinatorServiceTest, SubmitExpandsAndIsIdempotent) {
  v1::SubmitGridResponse first = Submit(SmallSpec());
  EXPECT_EQ(first.trial_count(), 4);
  EXPECT_FALSE(first.already_existed());
  EXPECT_FALSE(first.experiment_id().empty());
  // Comments and whitespace do not make a different spec.
  v1::SubmitGridResponse again = Submit("# same grid\n" + SmallSpec() + "\n\n");
  EXPECT_TRUE(again.already_existed());
  EXPECT_EQ(again.experiment_id(), first.experiment_id());

  v1::ListTrialsRequest list;
  list.set_experiment_id("svc-test");  // by name
  v1::ListTrialsResponse trials;
  ASSERT_TRUE(grid_->ListTrials(Ctx().get(), list, &trials).ok());
  ASSERT_EQ(trials.trials_size(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(trials.trials(i).number(), i);
    EXPECT_EQ(trials.trials(i).state(), v1::TRIAL_WAITING);
    EXPECT_EQ(trials.trials(i).config_sha256().size(), 64u);
  }
  EXPECT_EQ(trials.trials(0).params().at("latent_size"), "2");
  EXPECT_EQ(trials.trials(3).params().at("latent_size"), "4");
}

TEST_F(CoordinatorServiceTest, SubmitErrors) {
  v1::SubmitGridRequest request;
  v1::SubmitGridResponse response;
  grpc::Status empty = grid_->SubmitGrid(Ctx().get(), request, &response);
  EXPECT_EQ(empty.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(empty.error_message(), "spec_yaml: is empty");

  request.set_spec_yaml("experiment: bad\ndataset: svhn\nmodel: vae-mlp\n");
  grpc::Status bad = grid_->SubmitGrid(Ctx().get(), request, &response);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), HasSubstr("dataset"));
  EXPECT_THAT(bad.error_message(), HasSubstr("svhn"));

  request.set_spec_yaml(std::string(2 << 20, '#'));
  grpc::Status huge = grid_->SubmitGrid(Ctx().get(), request, &response);
  EXPECT_EQ(huge.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(huge.error_message(), HasSubstr("larger than the limit"));

  Submit(SmallSpec());
  std::string changed = SmallSpec();
  changed.replace(changed.find("epochs: 1"), 9, "epochs: 2");
  request.set_spec_yaml(changed);
  grpc::Status clash = grid_->SubmitGrid(Ctx().get(), request, &response);
  EXPECT_EQ(clash.error_code(), grpc::StatusCode::ALREADY_EXISTS);
}

TEST_F(CoordinatorServiceTest, GetAndListExperiments) {
  const std::string id = Submit(SmallSpec("exp-a")).experiment_id();
  Submit(SmallSpec("exp-b"));
  Submit(SmallSpec("exp-c"));

  v1::GetExperimentRequest get;
  get.set_experiment_id(id);
  v1::Experiment experiment;
  ASSERT_TRUE(grid_->GetExperiment(Ctx().get(), get, &experiment).ok());
  EXPECT_EQ(experiment.name(), "exp-a");
  EXPECT_EQ(experiment.status(), v1::EXPERIMENT_ACTIVE);
  EXPECT_EQ(experiment.total_trials(), 4);
  EXPECT_EQ(experiment.trial_counts().at("WAITING"), 4);

  get.set_experiment_id("no-such-experiment");
  EXPECT_EQ(grid_->GetExperiment(Ctx().get(), get, &experiment).error_code(),
            grpc::StatusCode::NOT_FOUND);
  get.set_experiment_id("");
  EXPECT_EQ(grid_->GetExperiment(Ctx().get(), get, &experiment).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::ListExperimentsRequest list;
  list.set_page_size(2);
  v1::ListExperimentsResponse page1, page2;
  ASSERT_TRUE(grid_->ListExperiments(Ctx().get(), list, &page1).ok());
  ASSERT_EQ(page1.experiments_size(), 2);
  EXPECT_EQ(page1.experiments(0).name(), "exp-c");  // newest first
  ASSERT_FALSE(page1.next_page_token().empty());
  list.set_page_token(page1.next_page_token());
  ASSERT_TRUE(grid_->ListExperiments(Ctx().get(), list, &page2).ok());
  ASSERT_EQ(page2.experiments_size(), 1);
  EXPECT_EQ(page2.experiments(0).name(), "exp-a");
  EXPECT_TRUE(page2.next_page_token().empty());

  list.set_page_size(5000);
  EXPECT_EQ(grid_->ListExperiments(Ctx().get(), list, &page1).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  list.set_page_size(1);
  list.set_page_token("garbage");
  EXPECT_EQ(grid_->ListExperiments(Ctx().get(), list, &page1).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::ListTrialsRequest trials_request;
  trials_request.set_experiment_id("nope");
  v1::ListTrialsResponse trials;
  EXPECT_EQ(grid_->ListTrials(Ctx().get(), trials_request, &trials).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(CoordinatorServiceTest, RegisterValidatesFields) {
  v1::RegisterWorkerRequest request;
  v1::RegisterWorkerResponse response;
  request.set_host("h");
  request.set_ranks(0);
  grpc::Status status = worker_->RegisterWorker(Ctx().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "ranks: must be 1..65536 (got 0)");
  request.set_ranks(1);
  request.set_device("tpu");
  EXPECT_EQ(worker_->RegisterWorker(Ctx().get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.set_device("cpu");
  request.set_host("");
  EXPECT_EQ(worker_->RegisterWorker(Ctx().get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.set_host("h");
  ASSERT_TRUE(worker_->RegisterWorker(Ctx().get(), request, &response).ok());
  EXPECT_EQ(response.lease_timeout_ms(), 10'000);
  EXPECT_EQ(response.heartbeat_interval_ms(), 3'333);
}

TEST_F(CoordinatorServiceTest, LeaseFollowsGridOrderAndCapabilities) {
  Submit(SmallSpec());
  v1::LeaseTrialRequest unknown;
  unknown.set_worker_id("w-unknown");
  v1::LeaseTrialResponse response;
  EXPECT_EQ(worker_->LeaseTrial(Ctx().get(), unknown, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // A 2-rank worker cannot run these 1-rank trials: it is told to retry.
  const std::string two_ranks = Register(2);
  v1::LeaseTrialResponse none = Lease(two_ranks);
  EXPECT_FALSE(none.has_lease());
  EXPECT_EQ(none.retry_after_ms(), 50);

  const std::string worker = Register(1);
  for (int expected = 0; expected < 4; ++expected) {
    v1::LeaseTrialResponse leased = Lease(worker);
    ASSERT_TRUE(leased.has_lease());
    EXPECT_EQ(leased.lease().attempt(), 1);
    EXPECT_FALSE(leased.lease().has_checkpoint());
    EXPECT_NE(leased.lease().config_json().find("\"dataset\":\"mnist\""), std::string::npos);
  }
  EXPECT_FALSE(Lease(worker).has_lease());
}

TEST_F(CoordinatorServiceTest, EachLeaseRecordsWhereTheAttemptRuns) {
  Submit(SmallSpec());
  const std::string worker = Register();
  const std::string environment =
      R"({"build_commit":"abc1234","torch_version":"1.13.0","hosts":["node-a"]})";
  v1::LeaseTrialRequest request;
  request.set_worker_id(worker);
  request.set_environment_json(environment);
  v1::LeaseTrialResponse leased;
  ASSERT_TRUE(worker_->LeaseTrial(Ctx().get(), request, &leased).ok());
  ASSERT_TRUE(leased.has_lease());
  // An older worker sends no environment: its attempt is recorded as unknown.
  v1::LeaseTrialResponse old_worker = Lease(worker);
  ASSERT_TRUE(old_worker.has_lease());

  v1::GetTrialRequest get;
  get.set_experiment_id("svc-test");
  get.set_number(0);
  v1::TrialDetail detail;
  ASSERT_TRUE(grid_->GetTrial(Ctx().get(), get, &detail).ok());
  EXPECT_EQ(detail.trial().trial_id(), leased.lease().trial_id());
  ASSERT_EQ(detail.attempts_size(), 1);
  EXPECT_EQ(detail.attempts(0).attempt(), 1);
  EXPECT_EQ(detail.attempts(0).worker_id(), worker);
  EXPECT_GT(detail.attempts(0).started_ms(), 0);
  EXPECT_EQ(detail.attempts(0).environment_json(), environment);
  get.set_number(1);
  ASSERT_TRUE(grid_->GetTrial(Ctx().get(), get, &detail).ok());
  ASSERT_EQ(detail.attempts_size(), 1);
  EXPECT_EQ(detail.attempts(0).environment_json(), "");

  get.set_number(99);
  grpc::Status missing = grid_->GetTrial(Ctx().get(), get, &detail);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(missing.error_message(), HasSubstr("has no trial number 99"));

  // Not a JSON object, or too big: refused before anything is leased.
  for (const std::string& bad : {std::string("[1,2]"), std::string("{not json"),
                                 "{\"x\":\"" + std::string(70'000, 'a') + "\"}"}) {
    request.set_environment_json(bad);
    grpc::Status refused = worker_->LeaseTrial(Ctx().get(), request, &leased);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad.substr(0, 20);
    EXPECT_THAT(refused.error_message(), HasSubstr("environment_json: "));
  }
  v1::ListTrialsRequest list;
  list.set_experiment_id("svc-test");
  list.add_states(v1::TRIAL_RUNNING);
  v1::ListTrialsResponse running;
  ASSERT_TRUE(grid_->ListTrials(Ctx().get(), list, &running).ok());
  EXPECT_EQ(running.trials_size(), 2);
}

TEST_F(CoordinatorServiceTest, HeartbeatRenewsAndRejectsStaleLeases) {
  Submit(SmallSpec());
  const std::string worker = Register();
  v1::TrialLease lease = Lease(worker).lease();

  v1::HeartbeatRequest request;
  request.set_worker_id(worker);
  request.set_trial_id(lease.trial_id());
  request.set_attempt(lease.attempt());
  request.mutable_progress()->set_epoch(1);
  request.mutable_progress()->set_step(10);
  request.mutable_progress()->set_total_steps(100);
  clock_.AdvanceMs(5'000);
  v1::HeartbeatResponse response;
  ASSERT_TRUE(worker_->Heartbeat(Ctx().get(), request, &response).ok());
  EXPECT_EQ(response.action(), v1::HeartbeatResponse::CONTINUE);
  EXPECT_EQ(response.lease_expires_ms(), clock_.NowMs() + 10'000);

  request.set_attempt(7);
  EXPECT_EQ(worker_->Heartbeat(Ctx().get(), request, &response).error_code(),
            grpc::StatusCode::ABORTED);
  request.set_attempt(lease.attempt());
  request.set_worker_id("w-other");
  EXPECT_EQ(worker_->Heartbeat(Ctx().get(), request, &response).error_code(),
            grpc::StatusCode::ABORTED);
  request.set_trial_id(-1);
  grpc::Status bad = worker_->Heartbeat(Ctx().get(), request, &response);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(bad.error_message(), "trial_id: must be a positive integer (got -1)");
}

TEST_F(CoordinatorServiceTest, MetricsAreValidatedAndIdempotent) {
  Submit(SmallSpec());
  const std::string worker = Register();
  v1::TrialLease lease = Lease(worker).lease();
  ASSERT_TRUE(Metrics(worker, lease, "loss/total", 1, 3.0).ok());
  ASSERT_TRUE(Metrics(worker, lease, "loss/total", 1, 2.5).ok());  // retry: overwrite
  ASSERT_TRUE(Metrics(worker, lease, "loss/total", 2, 2.0).ok());
  auto stored = server_->store()->ListMetrics(lease.trial_id());
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 2u);
  EXPECT_EQ((*stored)[0].value, 2.5);

  grpc::Status nan = Metrics(worker, lease, "loss/total", 3, std::nan(""));
  EXPECT_EQ(nan.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(nan.error_message(), "points[0].value: must be finite (got nan)");
  grpc::Status name = Metrics(worker, lease, "bad name!", 3, 1);
  EXPECT_EQ(name.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Metrics(worker, lease, "loss", -1, 1).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::ReportMetricsRequest big;
  big.set_worker_id(worker);
  big.set_trial_id(lease.trial_id());
  big.set_attempt(lease.attempt());
  for (int i = 0; i < 10'001; ++i) {
    auto* p = big.add_points();
    p->set_name("x");
    p->set_step(i);
  }
  v1::ReportMetricsResponse response;
  EXPECT_EQ(worker_->ReportMetrics(Ctx().get(), big, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::TrialLease stale = lease;
  stale.set_attempt(2);
  EXPECT_EQ(Metrics(worker, stale, "loss/total", 9, 1).error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(server_->store()->ListMetrics(lease.trial_id())->size(), 2u);
}

TEST_F(CoordinatorServiceTest, SamplesMustBePngs) {
  Submit(SmallSpec());
  const std::string worker = Register();
  v1::TrialLease lease = Lease(worker).lease();
  v1::ReportSampleRequest request;
  request.set_worker_id(worker);
  request.set_trial_id(lease.trial_id());
  request.set_attempt(lease.attempt());
  request.set_name("samples");
  request.set_step(5);
  request.set_epoch(1);
  request.set_rows(2);
  request.set_cols(3);
  request.set_png(FakePng());
  v1::ReportSampleResponse response;
  ASSERT_TRUE(worker_->ReportSample(Ctx().get(), request, &response).ok());
  ASSERT_TRUE(worker_->ReportSample(Ctx().get(), request, &response).ok());
  EXPECT_EQ(server_->store()->ListSamples(lease.trial_id())->size(), 1u);

  request.set_png("GIF89a....");
  grpc::Status not_png = worker_->ReportSample(Ctx().get(), request, &response);
  EXPECT_EQ(not_png.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(not_png.error_message(), "png: not a PNG image (bad signature)");
  request.set_png(FakePng((8 << 20) + 1));
  EXPECT_EQ(worker_->ReportSample(Ctx().get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(CoordinatorServiceTest, CheckpointRoundTripAndResumeInfo) {
  Submit(SmallSpec());
  const std::string worker = Register();
  v1::TrialLease lease = Lease(worker).lease();
  EXPECT_EQ(FetchCheckpoint(worker, lease).first.error_code(), grpc::StatusCode::NOT_FOUND);

  std::string bytes(3 << 20, '\0');  // 3 MiB: several 1 MiB chunks on the way down
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(SaveCheckpoint(worker, lease, 100, bytes).ok());
  auto [status, fetched] = FetchCheckpoint(worker, lease);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(fetched, bytes);

  grpc::Status bad_hash = SaveCheckpoint(worker, lease, 200, "abc", std::string(64, '0'));
  EXPECT_EQ(bad_hash.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad_hash.error_message(), HasSubstr("sha256"));

  // The worker dies; after the lease runs out the next worker resumes.
  clock_.AdvanceMs(10'001);
  const std::string next = Register();
  v1::LeaseTrialResponse resumed = Lease(next);
  ASSERT_TRUE(resumed.has_lease());
  EXPECT_EQ(resumed.lease().trial_id(), lease.trial_id());
  EXPECT_EQ(resumed.lease().attempt(), 2);
  ASSERT_TRUE(resumed.lease().has_checkpoint());
  EXPECT_EQ(resumed.lease().checkpoint().step(), 100);
  EXPECT_EQ(resumed.lease().checkpoint().sha256(), Sha256Hex(bytes));
  EXPECT_EQ(FetchCheckpoint(next, resumed.lease()).second, bytes);
  // The old worker's lease is gone.
  EXPECT_EQ(FetchCheckpoint(worker, lease).first.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(SaveCheckpoint(worker, lease, 300, "late").error_code(), grpc::StatusCode::ABORTED);
}

TEST_F(CoordinatorServiceTest, CorruptCheckpointFallsBackToThePreviousOne) {
  Submit(SmallSpec());
  const std::string worker = Register();
  v1::TrialLease lease = Lease(worker).lease();
  ASSERT_TRUE(SaveCheckpoint(worker, lease, 10, "older checkpoint").ok());
  ASSERT_TRUE(SaveCheckpoint(worker, lease, 20, "newer checkpoint").ok());
  auto checkpoints = server_->store()->ListCheckpoints(lease.trial_id());
  ASSERT_TRUE(checkpoints.ok());
  ASSERT_EQ(checkpoints->size(), 2u);
  {
    std::ofstream corrupt(checkpoints->front().path, std::ios::binary | std::ios::trunc);
    corrupt << "garbage";
  }
  auto [status, fetched] = FetchCheckpoint(worker, lease);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(fetched, "older checkpoint");
  EXPECT_EQ(server_->store()->ListCheckpoints(lease.trial_id())->size(), 1u);
}

TEST_F(CoordinatorServiceTest, RetentionRemovesACompletedTrialsDroppedCheckpointFiles) {
  // keep_trained: 0 keeps no trained model: the completion (group-committed)
  // drops the trial's checkpoint rows, and once that commit is done the
  // files go too (TrialStore::RunAfterCommit).
  Submit(SmallSpec("drop-files") + "keep_trained: 0\n");
  const std::string worker = Register();
  v1::TrialLease lease = Lease(worker).lease();
  ASSERT_TRUE(SaveCheckpoint(worker, lease, 10, "older checkpoint").ok());
  ASSERT_TRUE(SaveCheckpoint(worker, lease, 20, "final checkpoint").ok());
  auto before = server_->store()->ListCheckpoints(lease.trial_id());
  ASSERT_TRUE(before.ok());
  ASSERT_FALSE(before->empty());
  for (const auto& checkpoint : *before) ASSERT_TRUE(std::filesystem::exists(checkpoint.path));
  ASSERT_TRUE(Complete(worker, lease).ok());
  auto after = server_->store()->ListCheckpoints(lease.trial_id());
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
  for (const auto& checkpoint : *before) {
    EXPECT_FALSE(std::filesystem::exists(checkpoint.path)) << checkpoint.path;
  }
}

TEST_F(CoordinatorServiceTest, CompleteAndFail) {
  Submit(SmallSpec());
  const std::string worker = Register();
  v1::TrialLease first = Lease(worker).lease();
  ASSERT_TRUE(Complete(worker, first).ok());
  EXPECT_EQ(server_->store()->GetTrial(first.trial_id())->state,
            coordinator::TrialState::kComplete);
  EXPECT_EQ(Complete(worker, first).error_code(), grpc::StatusCode::ABORTED);

  v1::TrialLease second = Lease(worker).lease();
  v1::FailTrialRequest fail = FailRequest(worker, second, "CUDA out of memory");
  fail.set_retryable(true);
  v1::FailTrialResponse response;
  ASSERT_TRUE(worker_->FailTrial(Ctx().get(), fail, &response).ok());
  EXPECT_EQ(response.new_state(), v1::TRIAL_WAITING);

  v1::TrialLease again = Lease(worker).lease();
  EXPECT_EQ(again.trial_id(), second.trial_id());
  EXPECT_EQ(again.attempt(), 2);
  fail.set_attempt(2);
  fail.set_retryable(false);
  fail.set_error("non-finite loss/d at step 17");
  ASSERT_TRUE(worker_->FailTrial(Ctx().get(), fail, &response).ok());
  EXPECT_EQ(response.new_state(), v1::TRIAL_FAILED);
  auto failed = server_->store()->GetTrial(second.trial_id());
  EXPECT_EQ(failed->error, "non-finite loss/d at step 17");
}

TEST_F(CoordinatorServiceTest, PreemptedHandBacksDoNotUseUpAttempts) {
  Submit(SmallSpec());
  const std::string worker = Register();
  // max_attempts is 3: five hand-backs in a row still leave the trial WAITING.
  int64_t trial_id = 0;
  for (int attempt = 1; attempt <= 5; ++attempt) {
    v1::TrialLease lease = Lease(worker).lease();
    if (trial_id == 0) trial_id = lease.trial_id();
    ASSERT_EQ(lease.trial_id(), trial_id);
    ASSERT_EQ(lease.attempt(), attempt);
    v1::FailTrialRequest hand_back = FailRequest(worker, lease, "preempted (SIGTERM) at step 40");
    hand_back.set_preempted(true);  // retryable left false: ignored for a hand-back
    v1::FailTrialResponse response;
    ASSERT_TRUE(worker_->FailTrial(Ctx().get(), hand_back, &response).ok());
    EXPECT_EQ(response.new_state(), v1::TRIAL_WAITING) << "hand-back " << attempt;
  }
  auto trial = server_->store()->GetTrial(trial_id);
  EXPECT_EQ(trial->preemptions, 5);
  EXPECT_EQ(trial->error, "preempted (SIGTERM) at step 40");
  // A real failure after them is judged on failures alone: 1 of 3 retries.
  v1::FailTrialRequest fail = FailRequest(worker, Lease(worker).lease(), "CUDA out of memory");
  fail.set_retryable(true);
  v1::FailTrialResponse response;
  ASSERT_TRUE(worker_->FailTrial(Ctx().get(), fail, &response).ok());
  EXPECT_EQ(response.new_state(), v1::TRIAL_WAITING);
}

TEST_F(CoordinatorServiceTest, ExpiredLeasesRetryThenFail) {
  Submit(SmallSpec());
  const std::string worker = Register();
  int64_t trial_id = 0;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    v1::TrialLease lease = Lease(worker).lease();
    if (trial_id == 0) trial_id = lease.trial_id();
    ASSERT_EQ(lease.trial_id(), trial_id);
    ASSERT_EQ(lease.attempt(), attempt);
    clock_.AdvanceMs(10'001);  // no heartbeat: the lease runs out
  }
  // The sweep in the next LeaseTrial fails the trial (3 attempts) and moves on.
  v1::TrialLease next = Lease(worker).lease();
  EXPECT_NE(next.trial_id(), trial_id);
  auto failed = server_->store()->GetTrial(trial_id);
  EXPECT_EQ(failed->state, coordinator::TrialState::kFailed);
  EXPECT_THAT(failed->error, HasSubstr("lease expired"));
}

TEST_F(CoordinatorServiceTest, CancelStopsLeasingAndTellsRunningWorkers) {
  const std::string id = Submit(SmallSpec()).experiment_id();
  const std::string worker = Register();
  v1::TrialLease running = Lease(worker).lease();

  v1::CancelExperimentRequest cancel;
  cancel.set_experiment_id(id);
  v1::CancelExperimentResponse cancelled;
  ASSERT_TRUE(grid_->CancelExperiment(Ctx().get(), cancel, &cancelled).ok());
  EXPECT_EQ(cancelled.cancelled_waiting(), 3);
  EXPECT_EQ(cancelled.stopping_running(), 1);
  EXPECT_FALSE(Lease(worker).has_lease());

  v1::HeartbeatRequest heartbeat;
  heartbeat.set_worker_id(worker);
  heartbeat.set_trial_id(running.trial_id());
  heartbeat.set_attempt(running.attempt());
  v1::HeartbeatResponse response;
  ASSERT_TRUE(worker_->Heartbeat(Ctx().get(), heartbeat, &response).ok());
  EXPECT_EQ(response.action(), v1::HeartbeatResponse::CANCEL);
  ASSERT_TRUE(Complete(worker, running).ok());
  EXPECT_EQ(server_->store()->GetTrial(running.trial_id())->state,
            coordinator::TrialState::kCancelled);

  cancel.set_experiment_id("missing");
  EXPECT_EQ(grid_->CancelExperiment(Ctx().get(), cancel, &cancelled).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(CoordinatorServiceTest, WatchStreamsChangesUntilTheGridIsDone) {
  const std::string id = Submit(SmallSpec()).experiment_id();
  const std::string worker = Register();
  std::thread runner([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    for (int i = 0; i < 4; ++i) {
      v1::TrialLease lease = Lease(worker).lease();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      EXPECT_TRUE(Complete(worker, lease).ok());
    }
  });
  auto context = Ctx();
  v1::WatchExperimentRequest request;
  request.set_experiment_id(id);
  auto reader = grid_->WatchExperiment(context.get(), request);
  v1::TrialEvent event;
  int snapshots = 0, completions = 0;
  while (reader->Read(&event)) {
    if (event.kind() == v1::TrialEvent::SNAPSHOT) ++snapshots;
    if (event.trial().state() == v1::TRIAL_COMPLETE) ++completions;
  }
  runner.join();
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(snapshots, 4);
  EXPECT_EQ(completions, 4);

  auto missing_context = Ctx();
  request.set_experiment_id("missing");
  auto missing = grid_->WatchExperiment(missing_context.get(), request);
  while (missing->Read(&event)) {
  }
  EXPECT_EQ(missing->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(CoordinatorServiceTest, CompletedConfigsAreReusedUnlessRerun) {
  Submit(SmallSpec("first"));
  const std::string worker = Register();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Complete(worker, Lease(worker).lease()).ok());

  // The same grid plus one more latent size: only the 2 new cells train.
  std::string superset = SmallSpec("second");
  superset.replace(superset.find("[2, 4]"), 6, "[2, 4, 8]");
  v1::SubmitGridResponse second = Submit(superset);
  EXPECT_EQ(second.trial_count(), 6);
  EXPECT_EQ(second.reused_trials(), 4);
  int leased = 0;
  while (true) {
    v1::LeaseTrialResponse r = Lease(worker);
    if (!r.has_lease()) break;
    EXPECT_NE(r.lease().config_json().find("\"latent_size\":8"), std::string::npos);
    ASSERT_TRUE(Complete(worker, r.lease()).ok());
    ++leased;
  }
  EXPECT_EQ(leased, 2);

  // --rerun trains every cell again.
  v1::SubmitGridResponse third = Submit(SmallSpec("third"), /*rerun=*/true);
  EXPECT_EQ(third.reused_trials(), 0);
  leased = 0;
  while (Lease(worker).has_lease()) ++leased;
  EXPECT_EQ(leased, 4);
}

TEST_F(CoordinatorServiceTest, StateSurvivesARestartOnTheSameFile) {
  Submit(SmallSpec());
  const std::string worker = Register();
  v1::TrialLease lease = Lease(worker).lease();
  ASSERT_TRUE(Metrics(worker, lease, "loss/total", 1, 0.5).ok());
  RestartServer();
  // The worker's registration and lease survive; it carries on.
  ASSERT_TRUE(Metrics(worker, lease, "loss/total", 2, 0.25).ok());
  ASSERT_TRUE(Complete(worker, lease).ok());
  EXPECT_EQ(server_->store()->ListMetrics(lease.trial_id())->size(), 2u);
}

class AuthenticatedCoordinatorTest : public CoordinatorFixture {
 protected:
  void SetUp() override {
    token_ = "s3cret-token-value";
    StartServer();
  }
};

TEST_F(AuthenticatedCoordinatorTest, EveryRpcNeedsTheToken) {
  // Right token (the fixture sends it).
  Submit(SmallSpec());
  const std::string worker = Register();

  auto call_without = [&](const std::string& token) {
    ClientOptions options = client_;
    options.token = token;
    auto channel = CreateCoordinatorChannel(options);
    auto grid = v1::GridService::NewStub(channel);
    auto workers = v1::WorkerService::NewStub(channel);
    std::vector<grpc::Status> statuses;
    {
      grpc::ClientContext c;
      PrepareContext(&c, options, std::chrono::seconds(5));
      v1::SubmitGridRequest r;
      r.set_spec_yaml(SmallSpec("sneaky"));
      v1::SubmitGridResponse out;
      statuses.push_back(grid->SubmitGrid(&c, r, &out));
    }
    {
      grpc::ClientContext c;
      PrepareContext(&c, options, std::chrono::seconds(5));
      v1::ListExperimentsRequest r;
      v1::ListExperimentsResponse out;
      statuses.push_back(grid->ListExperiments(&c, r, &out));
    }
    {
      grpc::ClientContext c;
      PrepareContext(&c, options, std::chrono::seconds(5));
      v1::WatchExperimentRequest r;
      r.set_experiment_id("svc-test");
      auto reader = grid->WatchExperiment(&c, r);
      v1::TrialEvent e;
      while (reader->Read(&e)) {
      }
      statuses.push_back(reader->Finish());
    }
    {
      grpc::ClientContext c;
      PrepareContext(&c, options, std::chrono::seconds(5));
      v1::LeaseTrialRequest r;
      r.set_worker_id(worker);
      v1::LeaseTrialResponse out;
      statuses.push_back(workers->LeaseTrial(&c, r, &out));
    }
    {
      grpc::ClientContext c;
      PrepareContext(&c, options, std::chrono::seconds(5));
      v1::SaveCheckpointResponse out;
      auto writer = workers->SaveCheckpoint(&c, &out);
      v1::CheckpointChunk chunk;
      chunk.mutable_header()->set_worker_id(worker);
      writer->Write(chunk);
      writer->WritesDone();
      statuses.push_back(writer->Finish());
    }
    return statuses;
  };
  for (const std::string& bad : {std::string(), std::string("wrong-token")}) {
    for (const grpc::Status& status : call_without(bad)) {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
      EXPECT_EQ(status.error_message().find(token_), std::string::npos);
    }
  }
  // Nothing was touched: still one experiment, nothing leased.
  auto experiments = server_->store()->ListExperiments(0, 10);
  ASSERT_TRUE(experiments.ok());
  EXPECT_EQ(experiments->size(), 1u);
  EXPECT_EQ(Lease(worker).lease().attempt(), 1);
}

}  // namespace coordinator_service_test
}  // namespace
}  // namespace gridrun::testing
