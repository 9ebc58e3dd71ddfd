// Coordinator v2 (proto convention 8, callback server, pushed watches):
// the next lease in CompleteTrial's reply, the heartbeat folded into
// ReportMetrics, the last points and progress in CompleteTrial, v1 and v2
// workers on one grid, and 200 WatchExperiment
// clients that cost no thread each and all see every state change.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

#include "proto/protocol_version.h"
#include "tests/integration/coordinator_fixture.h"
#include "tests/integration/scripted_worker.h"

namespace gridrun::testing {
namespace {
namespace coordinator_v2_test {

class CoordinatorV2Test : public CoordinatorFixture {
 protected:
  // CompleteTrial with lease_next; EXPECTs OK.
  v1::CompleteTrialResponse CompleteAndLease(const std::string& worker_id,
                                             const v1::TrialLease& lease) {
    v1::CompleteTrialRequest request;
    request.set_worker_id(worker_id);
    request.set_trial_id(lease.trial_id());
    request.set_attempt(lease.attempt());
    request.set_lease_next(true);
    request.set_environment_json(R"({"host": "v2-test"})");
    v1::CompleteTrialResponse response;
    grpc::Status status = worker_->CompleteTrial(Ctx().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  grpc::Status MetricsWithProgress(const std::string& worker_id, const v1::TrialLease& lease,
                                   int64_t step, v1::ReportMetricsResponse* response) {
    v1::ReportMetricsRequest request;
    request.set_worker_id(worker_id);
    request.set_trial_id(lease.trial_id());
    request.set_attempt(lease.attempt());
    auto* point = request.add_points();
    point->set_name("loss/total");
    point->set_step(step);
    point->set_epoch(1);
    point->set_value(0.5);
    request.mutable_progress()->set_epoch(1);
    request.mutable_progress()->set_step(step);
    request.mutable_progress()->set_total_steps(100);
    return worker_->ReportMetrics(Ctx().get(), request, response);
  }

  std::map<v1::TrialState, int> StateCounts(const std::string& experiment_id) {
    v1::ListTrialsRequest request;
    request.set_experiment_id(experiment_id);
    v1::ListTrialsResponse response;
    grpc::Status status = grid_->ListTrials(Ctx().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::map<v1::TrialState, int> counts;
    for (const v1::Trial& t : response.trials()) ++counts[t.state()];
    return counts;
  }
};

TEST_F(CoordinatorV2Test, CompleteWithLeaseNextHandsOutTheNextTrialUntilNoneIsLeft) {
  const std::string id = Submit(SmallSpec("v2-chain")).experiment_id();
  const std::string worker = Register();
  v1::LeaseTrialResponse first = Lease(worker);
  ASSERT_TRUE(first.has_lease());
  v1::TrialLease lease = first.lease();
  std::vector<int64_t> seen{lease.trial_id()};
  for (int i = 0; i < 3; ++i) {
    v1::CompleteTrialResponse reply = CompleteAndLease(worker, lease);
    EXPECT_EQ(reply.new_state(), v1::TRIAL_COMPLETE);
    ASSERT_TRUE(reply.has_next());
    ASSERT_TRUE(reply.next().has_lease()) << "completion " << i;
    lease = reply.next().lease();
    EXPECT_EQ(lease.attempt(), 1);
    seen.push_back(lease.trial_id());
  }
  // The last completion finds nothing to lease: retry_after_ms, no lease.
  v1::CompleteTrialResponse last = CompleteAndLease(worker, lease);
  ASSERT_TRUE(last.has_next());
  EXPECT_FALSE(last.next().has_lease());
  EXPECT_GT(last.next().retry_after_ms(), 0);
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 4u);
  EXPECT_EQ(StateCounts(id)[v1::TRIAL_COMPLETE], 4);

  // A lease handed out in a reply records its attempt like LeaseTrial's.
  v1::GetTrialRequest get;
  get.set_experiment_id(id);
  get.set_number(1);
  v1::TrialDetail detail;
  ASSERT_TRUE(grid_->GetTrial(Ctx().get(), get, &detail).ok());
  ASSERT_EQ(detail.attempts_size(), 1);
  EXPECT_EQ(detail.attempts(0).worker_id(), worker);
}

TEST_F(CoordinatorV2Test, CompleteWithoutLeaseNextAnswersAsBefore) {
  Submit(SmallSpec("v2-plain"));
  const std::string worker = Register();
  v1::TrialLease lease = Lease(worker).lease();
  v1::CompleteTrialRequest request;
  request.set_worker_id(worker);
  request.set_trial_id(lease.trial_id());
  request.set_attempt(lease.attempt());
  v1::CompleteTrialResponse response;
  ASSERT_TRUE(worker_->CompleteTrial(Ctx().get(), request, &response).ok());
  EXPECT_FALSE(response.has_next());
}

TEST_F(CoordinatorV2Test, AFailedCompletionLeasesNothing) {
  const std::string id = Submit(SmallSpec("v2-aborted")).experiment_id();
  const std::string worker = Register();
  v1::TrialLease lease = Lease(worker).lease();
  v1::CompleteTrialRequest request;
  request.set_worker_id(worker);
  request.set_trial_id(lease.trial_id());
  request.set_attempt(lease.attempt() + 1);  // not the current lease
  request.set_lease_next(true);
  v1::CompleteTrialResponse response;
  grpc::Status status = worker_->CompleteTrial(Ctx().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  auto counts = StateCounts(id);
  EXPECT_EQ(counts[v1::TRIAL_RUNNING], 1);
  EXPECT_EQ(counts[v1::TRIAL_WAITING], 3);
}

TEST_F(CoordinatorV2Test, ReportMetricsWithProgressIsTheHeartbeat) {
  const std::string id = Submit(SmallSpec("v2-beat")).experiment_id();
  const std::string worker = Register();
  v1::TrialLease lease = Lease(worker).lease();
  clock_.AdvanceMs(5'000);
  v1::ReportMetricsResponse reply;
  ASSERT_TRUE(MetricsWithProgress(worker, lease, 7, &reply).ok());
  EXPECT_EQ(reply.stored(), 1);
  EXPECT_EQ(reply.action(), v1::HeartbeatResponse::CONTINUE);
  EXPECT_EQ(reply.lease_expires_ms(), clock_.NowMs() + Options().lease_timeout_ms);
  EXPECT_GT(reply.lease_expires_ms(), lease.lease_expires_ms());

  v1::GetTrialRequest get;
  get.set_experiment_id(id);
  get.set_number(0);
  v1::TrialDetail detail;
  ASSERT_TRUE(grid_->GetTrial(Ctx().get(), get, &detail).ok());
  EXPECT_EQ(detail.trial().progress().step(), 7);
  EXPECT_EQ(detail.trial().lease_expires_ms(), reply.lease_expires_ms());

  // Without progress: a v1 report (no renewal, no action).
  v1::ReportMetricsRequest plain;
  plain.set_worker_id(worker);
  plain.set_trial_id(lease.trial_id());
  plain.set_attempt(lease.attempt());
  v1::ReportMetricsResponse plain_reply;
  ASSERT_TRUE(worker_->ReportMetrics(Ctx().get(), plain, &plain_reply).ok());
  EXPECT_EQ(plain_reply.action(), v1::HeartbeatResponse::ACTION_UNSPECIFIED);
  EXPECT_EQ(plain_reply.lease_expires_ms(), 0);

  // A cancelled experiment: the folded heartbeat answers CANCEL.
  v1::CancelExperimentRequest cancel;
  cancel.set_experiment_id(id);
  v1::CancelExperimentResponse cancelled;
  ASSERT_TRUE(grid_->CancelExperiment(Ctx().get(), cancel, &cancelled).ok());
  ASSERT_TRUE(MetricsWithProgress(worker, lease, 8, &reply).ok());
  EXPECT_EQ(reply.action(), v1::HeartbeatResponse::CANCEL);

  // A lost lease: ABORTED, nothing stored, nothing renewed.
  v1::TrialLease stale = lease;
  stale.set_attempt(lease.attempt() + 1);
  EXPECT_EQ(MetricsWithProgress(worker, stale, 9, &reply).error_code(),
            grpc::StatusCode::ABORTED);
}

// CompleteTrial carrying the last points and progress (convention 8e).
v1::CompleteTrialRequest CompleteWithPoints(const std::string& worker_id,
                                            const v1::TrialLease& lease,
                                            const std::vector<std::string>& names, int64_t step) {
  v1::CompleteTrialRequest request;
  request.set_worker_id(worker_id);
  request.set_trial_id(lease.trial_id());
  request.set_attempt(lease.attempt());
  request.set_lease_next(true);
  for (size_t i = 0; i < names.size(); ++i) {
    v1::MetricPoint* point = request.add_points();
    point->set_name(names[i]);
    point->set_step(step);
    point->set_epoch(1);
    point->set_value(0.25 * static_cast<double>(i + 1));
  }
  request.mutable_progress()->set_epoch(1);
  request.mutable_progress()->set_step(step);
  request.mutable_progress()->set_total_steps(step);
  return request;
}

TEST_F(CoordinatorV2Test, CompleteTrialStoresTheLastPointsAndProgressWithTheCompletion) {
  const std::string id = Submit(SmallSpec("v2-last-points")).experiment_id();
  v1::RegisterWorkerRequest reg;
  reg.set_host("test-host");
  reg.set_ranks(1);
  reg.set_device("cpu");
  v1::RegisterWorkerResponse registered;
  ASSERT_TRUE(worker_->RegisterWorker(Ctx().get(), reg, &registered).ok());
  EXPECT_EQ(registered.protocol(), kProtocolCompleteTakesPoints);  // this coordinator follows 8e
  const std::string worker = registered.worker_id();
  v1::TrialLease lease = Lease(worker).lease();
  v1::ReportMetricsResponse earlier;
  ASSERT_TRUE(MetricsWithProgress(worker, lease, 10, &earlier).ok());

  v1::CompleteTrialResponse reply;
  grpc::Status status = worker_->CompleteTrial(
      Ctx().get(), CompleteWithPoints(worker, lease, {"loss/total", "kl"}, 20), &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply.stored(), 2);
  EXPECT_EQ(reply.new_state(), v1::TRIAL_COMPLETE);
  ASSERT_TRUE(reply.next().has_lease());  // 8b still holds

  v1::GetTrialRequest get;
  get.set_experiment_id(id);
  get.set_number(0);
  v1::TrialDetail detail;
  ASSERT_TRUE(grid_->GetTrial(Ctx().get(), get, &detail).ok());
  EXPECT_EQ(detail.trial().state(), v1::TRIAL_COMPLETE);
  EXPECT_EQ(detail.trial().progress().step(), 20);
  EXPECT_EQ(detail.trial().progress().total_steps(), 20);
  EXPECT_EQ(detail.trial().latest_metrics().at("loss/total"), 0.25);
  EXPECT_EQ(detail.trial().latest_metrics().at("kl"), 0.5);
  auto stored = server_->store()->ListMetrics(lease.trial_id());
  ASSERT_TRUE(stored.ok()) << stored.status();
  // The earlier report's point and these two (ListMetrics orders by name, step).
  std::vector<std::tuple<std::string, int64_t, double>> rows;
  for (const auto& point : *stored) rows.emplace_back(point.name, point.step, point.value);
  EXPECT_EQ(rows, (std::vector<std::tuple<std::string, int64_t, double>>{
                      {"kl", 20, 0.5}, {"loss/total", 10, 0.5}, {"loss/total", 20, 0.25}}));
}

TEST_F(CoordinatorV2Test, ACompletionWhoseReportFailsChangesNothing) {
  const std::string id = Submit(SmallSpec("v2-last-points-bad")).experiment_id();
  const std::string worker = Register();
  v1::TrialLease lease = Lease(worker).lease();

  // A bad point: INVALID_ARGUMENT naming it; the trial still runs.
  v1::CompleteTrialResponse reply;
  grpc::Status status = worker_->CompleteTrial(
      Ctx().get(), CompleteWithPoints(worker, lease, {"loss", "bad name!"}, 5), &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("points[1].name"), std::string::npos)
      << status.error_message();
  // A bad progress, likewise.
  v1::CompleteTrialRequest bad_progress = CompleteWithPoints(worker, lease, {"loss"}, 5);
  bad_progress.mutable_progress()->set_step(-1);
  status = worker_->CompleteTrial(Ctx().get(), bad_progress, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("progress.step"), std::string::npos)
      << status.error_message();
  // Not the current lease: ABORTED, no point stored, no lease made.
  v1::TrialLease stale = lease;
  stale.set_attempt(lease.attempt() + 1);
  status = worker_->CompleteTrial(Ctx().get(), CompleteWithPoints(worker, stale, {"loss"}, 5),
                                  &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);

  EXPECT_TRUE(server_->store()->ListMetrics(lease.trial_id())->empty());
  auto counts = StateCounts(id);
  EXPECT_EQ(counts[v1::TRIAL_RUNNING], 1);
  EXPECT_EQ(counts[v1::TRIAL_WAITING], 3);
}

TEST_F(CoordinatorV2Test, PreviousAndNewWorkersShareOneGrid) {
  std::string spec = "experiment: v2-mixed\ndataset: mnist\nmodel: vae-mlp\nepochs: 1\ngrid:\n"
                     "  latent_size: [1, 2, 3, 4, 5, 6, 7, 8]\n  width: [100, 101, 102, 103, 104]\n";
  const std::string id = Submit(spec).experiment_id();
  Ledger ledger;  // the previous protocol's workers, as tests/integration has them
  std::atomic<bool> stop{false};
  std::mutex v2_mutex;
  std::map<int64_t, int> v2_completions;
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      ScriptedWorker worker(client_, &ledger, /*steps_per_trial=*/2, /*points_per_batch=*/5);
      worker.Run(stop, /*stop_when_idle=*/true);
    });
    threads.emplace_back([&] {
      const std::string worker = Register();
      v1::LeaseTrialResponse next = Lease(worker);
      while (next.has_lease()) {
        const v1::TrialLease lease = next.lease();
        v1::ReportMetricsResponse reply;
        EXPECT_TRUE(MetricsWithProgress(worker, lease, 1, &reply).ok());
        v1::CompleteTrialResponse done = CompleteAndLease(worker, lease);
        {
          std::lock_guard<std::mutex> lock(v2_mutex);
          ++v2_completions[lease.trial_id()];
        }
        next = done.next();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ledger.errors, 0) << ledger.first_error;
  std::map<int64_t, int> all = v2_completions;
  for (const auto& [trial, count] : ledger.completions) all[trial] += count;
  EXPECT_EQ(all.size(), 40u);
  for (const auto& [trial, count] : all) EXPECT_EQ(count, 1) << "trial " << trial;
  EXPECT_FALSE(ledger.completions.empty()) << "the v1 workers completed nothing";
  EXPECT_FALSE(v2_completions.empty()) << "the v2 workers completed nothing";
  EXPECT_EQ(StateCounts(id)[v1::TRIAL_COMPLETE], 40);
}

// Threads of this process (/proc/self/status).
int ThreadCount() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec * 1e-6;
}

// Many WatchExperiment streams on one completion queue, read by one thread.
class Watchers {
 public:
  Watchers(v1::GridService::Stub* stub, const ClientOptions& client, const std::string& id,
           int count)
      : streams_(count) {
    for (int i = 0; i < count; ++i) {
      Stream& s = streams_[i];
      PrepareContext(&s.context, client, std::chrono::seconds(120));
      v1::WatchExperimentRequest request;
      request.set_experiment_id(id);
      s.reader = stub->AsyncWatchExperiment(&s.context, request, &cq_, Tag(i));
    }
    thread_ = std::thread([this] { Poll(); });
  }
  ~Watchers() {
    thread_.join();
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  // Waits until every stream got `n` events (or ended); false after 60 s.
  bool WaitForEvents(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [&] {
      for (const Stream& s : streams_) {
        if (!s.finished && s.events.size() < n) return false;
      }
      return true;
    });
  }

  struct Stream {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientAsyncReader<v1::TrialEvent>> reader;
    v1::TrialEvent event;  // the read in flight
    std::vector<v1::TrialEvent> events;
    grpc::Status status;
    bool started = false;
    bool finishing = false;
    bool finished = false;
  };
  std::vector<Stream>& streams() { return streams_; }

 private:
  static void* Tag(int i) { return reinterpret_cast<void*>(static_cast<intptr_t>(i)); }

  void Poll() {
    size_t open = streams_.size();
    void* tag;
    bool ok;
    while (open > 0 && cq_.Next(&tag, &ok)) {
      const int i = static_cast<int>(reinterpret_cast<intptr_t>(tag));
      std::lock_guard<std::mutex> lock(mu_);
      Stream& s = streams_[i];
      if (s.finishing) {
        s.finished = true;
        --open;
      } else if (ok) {
        if (s.started) s.events.push_back(s.event);
        s.started = true;
        s.reader->Read(&s.event, Tag(i));
      } else {
        s.finishing = true;
        s.reader->Finish(&s.status, Tag(i));
      }
      cv_.notify_all();
    }
  }

  grpc::CompletionQueue cq_;
  std::vector<Stream> streams_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

TEST_F(CoordinatorV2Test, TwoHundredWatchersCostNoThreadEachAndSeeEveryStateChange) {
  constexpr int kWatchers = 200;
  const std::string id = Submit(SmallSpec("v2-watch")).experiment_id();
  const std::string worker = Register();
  // Warm up gRPC's own threads with one call of each kind first.
  Lease(worker);
  const int threads_before = ThreadCount();
  const double cpu_before = CpuSeconds();
  Watchers watchers(grid_.get(), client_, id, kWatchers);
  ASSERT_TRUE(watchers.WaitForEvents(4)) << "not every watcher got its snapshot";
  EXPECT_EQ(server_->watchers(), kWatchers);
  const int threads_with_watchers = ThreadCount();
  std::fprintf(stderr, "threads: %d before, %d with %d watchers open (one client thread)\n",
               threads_before, threads_with_watchers, kWatchers);
  // A thread per watcher would add 200; the client's reader adds one.
  EXPECT_LT(threads_with_watchers - threads_before, 20);

  // Drive every trial through its states: the one leased above, then the
  // rest by v2 completions, with a folded heartbeat (a progress event) each.
  std::vector<v1::TrialLease> leases;
  v1::ListTrialsRequest list;
  list.set_experiment_id(id);
  list.add_states(v1::TRIAL_RUNNING);
  v1::ListTrialsResponse running;
  ASSERT_TRUE(grid_->ListTrials(Ctx().get(), list, &running).ok());
  ASSERT_EQ(running.trials_size(), 1);
  v1::TrialLease lease;
  lease.set_trial_id(running.trials(0).trial_id());
  lease.set_attempt(running.trials(0).attempt());
  for (int i = 0; i < 4; ++i) {
    v1::ReportMetricsResponse reply;
    ASSERT_TRUE(MetricsWithProgress(worker, lease, 10, &reply).ok());
    v1::CompleteTrialResponse done = CompleteAndLease(worker, lease);
    if (i < 3) {
      ASSERT_TRUE(done.next().has_lease());
      lease = done.next().lease();
    }
  }
  // Per trial: SNAPSHOT, and then what the feed committed after it. The
  // first trial was RUNNING at the snapshot; the others were WAITING.
  ASSERT_TRUE(watchers.WaitForEvents(4 + 4 * 2 + 3));
  const double cpu = CpuSeconds() - cpu_before;
  std::fprintf(stderr, "CPU: %.2f s for %d watchers, their snapshots and %d events each\n", cpu,
               kWatchers, 15);
  int ended_ok = 0;
  for (auto& s : watchers.streams()) {
    std::map<int64_t, std::vector<std::pair<v1::TrialEvent::Kind, v1::TrialState>>> by_trial;
    for (const v1::TrialEvent& e : s.events) {
      by_trial[e.trial().trial_id()].emplace_back(e.kind(), e.trial().state());
    }
    ASSERT_EQ(by_trial.size(), 4u);
    for (const auto& [trial, events] : by_trial) {
      std::vector<v1::TrialState> states;
      for (const auto& [kind, state] : events) {
        if (kind != v1::TrialEvent::PROGRESS) states.push_back(state);
      }
      if (trial == running.trials(0).trial_id()) {
        EXPECT_EQ(states, (std::vector<v1::TrialState>{v1::TRIAL_RUNNING, v1::TRIAL_COMPLETE}));
      } else {
        EXPECT_EQ(states, (std::vector<v1::TrialState>{v1::TRIAL_WAITING, v1::TRIAL_RUNNING,
                                                       v1::TRIAL_COMPLETE}));
      }
      EXPECT_EQ(events.front().first, v1::TrialEvent::SNAPSHOT);
      int progress = 0;
      for (const auto& [kind, state] : events) progress += kind == v1::TrialEvent::PROGRESS;
      EXPECT_EQ(progress, 1) << "trial " << trial;
    }
  }
  // Nothing is open any more: every stream ends OK.
  ASSERT_TRUE(watchers.WaitForEvents(1000));
  for (auto& s : watchers.streams()) {
    EXPECT_TRUE(s.finished);
    ended_ok += s.status.ok() ? 1 : 0;
  }
  EXPECT_EQ(ended_ok, kWatchers);
}

}  // namespace coordinator_v2_test
}  // namespace
}  // namespace gridrun::testing
