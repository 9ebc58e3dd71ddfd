// A scripted worker: plays rank 0's protocol (register, lease, heartbeat,
// report metrics, complete) against a coordinator without training anything,
// retrying with backoff while the coordinator is unreachable, as the real
// worker does. Records every acknowledged metric point and completion so
// tests can check that nothing acknowledged was lost. Header-only.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "proto/client_channel.h"
#include "proto/gridrun.grpc.pb.h"

namespace gridrun::testing {

// What all scripted workers of a test acknowledged, shared between threads.
struct Ledger {
  std::mutex mutex;
  std::map<std::tuple<int64_t, std::string, int64_t>, double> acked_points;
  std::map<int64_t, int> completions;  // trial -> OK CompleteTrial replies
  std::atomic<int64_t> acked_batches{0};
  std::atomic<int64_t> errors{0};  // unexpected (non-retryable) errors
  std::string first_error;

  void Error(const std::string& what) {
    std::lock_guard<std::mutex> lock(mutex);
    if (errors++ == 0) first_error = what;
  }
};

class ScriptedWorker {
 public:
  ScriptedWorker(ClientOptions options, Ledger* ledger, int steps_per_trial, int points_per_batch)
      : options_(std::move(options)),
        ledger_(ledger),
        steps_(steps_per_trial),
        points_(points_per_batch),
        stub_(v1::WorkerService::NewStub(CreateCoordinatorChannel(options_))) {}

  // Runs until a LeaseTrial finds nothing and `stop_when_idle`, or `stop` is set.
  void Run(const std::atomic<bool>& stop, bool stop_when_idle) {
    if (!Register(stop)) return;
    while (!stop) {
      v1::LeaseTrialResponse lease;
      grpc::Status status = Retry(stop, [&](grpc::ClientContext* c) {
        v1::LeaseTrialRequest r;
        r.set_worker_id(worker_id_);
        return stub_->LeaseTrial(c, r, &lease);
      });
      if (!status.ok()) {
        if (!stop) ledger_->Error("LeaseTrial: " + status.error_message());
        return;
      }
      if (!lease.has_lease()) {
        if (stop_when_idle) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(lease.retry_after_ms()));
        continue;
      }
      RunTrial(stop, lease.lease());
    }
  }

 private:
  bool Register(const std::atomic<bool>& stop) {
    v1::RegisterWorkerResponse response;
    grpc::Status status = Retry(stop, [&](grpc::ClientContext* c) {
      v1::RegisterWorkerRequest r;
      r.set_host("scripted");
      r.set_ranks(1);
      r.set_device("cpu");
      return stub_->RegisterWorker(c, r, &response);
    });
    if (!status.ok()) {
      ledger_->Error("RegisterWorker: " + status.error_message());
      return false;
    }
    worker_id_ = response.worker_id();
    return true;
  }

  void RunTrial(const std::atomic<bool>& stop, const v1::TrialLease& lease) {
    for (int step = 1; step <= steps_ && !stop; ++step) {
      v1::ReportMetricsRequest metrics;
      metrics.set_worker_id(worker_id_);
      metrics.set_trial_id(lease.trial_id());
      metrics.set_attempt(lease.attempt());
      for (int i = 0; i < points_; ++i) {
        auto* p = metrics.add_points();
        p->set_name("m" + std::to_string(i));
        p->set_step(step);
        p->set_epoch(1);
        p->set_value(step * 0.5 + i);
      }
      v1::ReportMetricsResponse stored;
      grpc::Status status = Retry(stop, [&](grpc::ClientContext* c) {
        return stub_->ReportMetrics(c, metrics, &stored);
      });
      if (status.error_code() == grpc::StatusCode::ABORTED) return;  // lease lost
      if (!status.ok()) {
        if (!stop) ledger_->Error("ReportMetrics: " + status.error_message());
        return;
      }
      {
        std::lock_guard<std::mutex> lock(ledger_->mutex);
        for (const auto& p : metrics.points()) {
          ledger_->acked_points[{lease.trial_id(), p.name(), p.step()}] = p.value();
        }
      }
      ++ledger_->acked_batches;
      v1::HeartbeatResponse beat;
      status = Retry(stop, [&](grpc::ClientContext* c) {
        v1::HeartbeatRequest r;
        r.set_worker_id(worker_id_);
        r.set_trial_id(lease.trial_id());
        r.set_attempt(lease.attempt());
        r.mutable_progress()->set_step(step);
        r.mutable_progress()->set_total_steps(steps_);
        return stub_->Heartbeat(c, r, &beat);
      });
      if (!status.ok()) return;
    }
    v1::CompleteTrialResponse done;
    grpc::Status status = Retry(stop, [&](grpc::ClientContext* c) {
      v1::CompleteTrialRequest r;
      r.set_worker_id(worker_id_);
      r.set_trial_id(lease.trial_id());
      r.set_attempt(lease.attempt());
      return stub_->CompleteTrial(c, r, &done);
    });
    if (status.ok()) {
      std::lock_guard<std::mutex> lock(ledger_->mutex);
      ++ledger_->completions[lease.trial_id()];
    }
  }

  // Retries UNAVAILABLE / DEADLINE_EXCEEDED with capped exponential backoff.
  template <typename Call>
  grpc::Status Retry(const std::atomic<bool>& stop, Call call) {
    int backoff_ms = 20;
    for (int attempt = 0;; ++attempt) {
      grpc::ClientContext context;
      PrepareContext(&context, options_, std::chrono::seconds(5));
      grpc::Status status = call(&context);
      const bool transient = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                             status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
      if (!transient || stop || attempt >= 200) return status;
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
      backoff_ms = std::min(backoff_ms * 2, 500);
    }
  }

  ClientOptions options_;
  Ledger* ledger_;
  int steps_;
  int points_;
  std::unique_ptr<v1::WorkerService::Stub> stub_;
  std::string worker_id_;
};

}  // namespace gridrun::testing
