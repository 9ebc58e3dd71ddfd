// The simulated workers of gridrun-bench-coordinator (coordinator_bench.cpp):
// what a worker sends for each trial, and the two ways it is driven, a
// thread making synchronous calls (SimWorker) or gRPC's callback client
// with no thread of its own (CallbackWorker). Each has one call in flight
// and records every call's latency. Not thread-safe: one worker, one driver
// (its thread, or the callbacks of its own calls, which never overlap).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "proto/client_channel.h"
#include "proto/gridrun.grpc.pb.h"
#include "proto/protocol_version.h"

namespace gridrun::bench::sim {

namespace v1 = gridrun::v1;
using gridrun::bench::NowSeconds;

// How a simulated worker speaks (proto convention 8):
//   v1: lease -> heartbeat x H -> metrics batch x B -> complete;
//   v2: metrics batch x B, the first H of them carrying the heartbeat's
//       progress -> complete with lease_next, whose reply is the next lease;
//   v3: as v2, but the last batch (and its progress, when due) rides on the
//       completion (8e): B - 1 metrics calls, then complete.
enum class Protocol { kV1, kV2, kV3 };

inline const char* ProtocolName(Protocol p) {
  return p == Protocol::kV1 ? "v1" : p == Protocol::kV2 ? "v2" : "v3";
}

// Per-RPC latencies (seconds), merged from every worker at the end.
struct Latencies {
  std::map<std::string, std::vector<double>> by_rpc;
  void Merge(const Latencies& other) {
    for (const auto& [k, v] : other.by_rpc) by_rpc[k].insert(by_rpc[k].end(), v.begin(), v.end());
  }
};

// A channel with its own TCP connection (a local subchannel pool), as a
// separate worker process would have; gRPC otherwise shares one connection.
inline std::shared_ptr<grpc::Channel> OwnChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

// The requests of a simulated worker, the same for both kinds of client.
inline v1::RegisterWorkerRequest RegisterRequest() {
  v1::RegisterWorkerRequest r;
  r.set_host("bench");
  r.set_ranks(1);
  r.set_device("cpu");
  return r;
}

inline v1::HeartbeatRequest HeartbeatRequest(const std::string& worker_id,
                                             const v1::TrialLease& lease, int beat, int batches) {
  v1::HeartbeatRequest h;
  h.set_worker_id(worker_id);
  h.set_trial_id(lease.trial_id());
  h.set_attempt(lease.attempt());
  h.mutable_progress()->set_step(beat);
  h.mutable_progress()->set_total_steps(batches);
  return h;
}

// Batch `step` (from 1) of a trial: `points` metrics m0, m1, ... at that step;
// from v2 on, the first `heartbeats` batches also carry the heartbeat's
// progress. Into `request`, a ReportMetricsRequest or (v3's last batch) a
// CompleteTrialRequest.
template <typename Request>
void AddBatch(Request* request, Protocol protocol, int step, int points, int heartbeats,
              int batches) {
  for (int i = 0; i < points; ++i) {
    auto* p = request->add_points();
    p->set_name("m" + std::to_string(i));
    p->set_step(step);
    p->set_epoch(1);
    p->set_value(step * 0.5 + i);
  }
  if (protocol != Protocol::kV1 && step <= heartbeats) {
    request->mutable_progress()->set_step(step);
    request->mutable_progress()->set_total_steps(batches);
  }
}

// The metrics calls a trial makes (v3's last batch goes on the completion).
inline int MetricsCalls(Protocol protocol, int batches) {
  return protocol == Protocol::kV3 && batches > 0 ? batches - 1 : batches;
}

inline v1::ReportMetricsRequest MetricsRequest(const std::string& worker_id,
                                               const v1::TrialLease& lease, int step, int points,
                                               Protocol protocol, int heartbeats, int batches) {
  v1::ReportMetricsRequest m;
  m.set_worker_id(worker_id);
  m.set_trial_id(lease.trial_id());
  m.set_attempt(lease.attempt());
  AddBatch(&m, protocol, step, points, heartbeats, batches);
  return m;
}

inline v1::CompleteTrialRequest CompleteRequest(const std::string& worker_id,
                                                const v1::TrialLease& lease, Protocol protocol,
                                                int points, int heartbeats, int batches) {
  v1::CompleteTrialRequest c;
  c.set_worker_id(worker_id);
  c.set_trial_id(lease.trial_id());
  c.set_attempt(lease.attempt());
  c.set_lease_next(protocol != Protocol::kV1);
  if (protocol == Protocol::kV3 && batches > 0) {
    AddBatch(&c, protocol, batches, points, heartbeats, batches);
  }
  return c;
}

// The points a trial's completion carries.
inline int PointsOnComplete(Protocol protocol, int points, int batches) {
  return protocol == Protocol::kV3 && batches > 0 ? points : 0;
}

// v3 needs a coordinator that says it follows convention 8e.
inline bool Understands(const v1::RegisterWorkerResponse& registered, Protocol protocol) {
  if (protocol != Protocol::kV3 || registered.protocol() >= kProtocolCompleteTakesPoints) {
    return true;
  }
  std::cerr << "register: the coordinator answers protocol " << registered.protocol() << "; v3 needs "
            << kProtocolCompleteTakesPoints << " (convention 8e)\n";
  return false;
}

class SimWorker {
 public:
  SimWorker(const gridrun::ClientOptions& options, int heartbeats, int batches, int points)
      : options_(options),
        heartbeats_(heartbeats),
        batches_(batches),
        points_(points),
        stub_(v1::WorkerService::NewStub(OwnChannel(options.address))) {}

  // Returns false on an unexpected error (printed). With `interval_s` > 0 the
  // worker starts a trial every interval_s seconds from `first_s` (on
  // NowSeconds()'s clock), and at once when it is behind.
  bool Run(Protocol protocol, double first_s, double interval_s, int64_t* lifecycles,
           int64_t* points_stored) {
    const bool v2 = protocol != Protocol::kV1;
    double next_trial_s = first_s;
    auto pace = [&] {
      if (interval_s <= 0) return;
      const double wait_s = next_trial_s - NowSeconds();
      if (wait_s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(wait_s));
      next_trial_s += interval_s;
    };
    // Paced workers arrive staggered, at their first trial's time: all 64
    // registering and leasing at once would be a start-up burst, not the
    // offered rate (it set the p99 of short runs: docs/BENCHMARKS.md, part
    // 3, "Waited-on calls first").
    if (interval_s > 0 && first_s > NowSeconds()) {
      std::this_thread::sleep_for(std::chrono::duration<double>(first_s - NowSeconds()));
    }
    v1::RegisterWorkerResponse reg;
    {
      const v1::RegisterWorkerRequest r = RegisterRequest();
      if (!Call("register",
                [&](grpc::ClientContext* c) { return stub_->RegisterWorker(c, r, &reg); }))
        return false;
      if (!Understands(reg, protocol)) return false;
    }
    v1::LeaseTrialResponse lease;
    for (;;) {
      if (!v2) pace();  // a v1 worker asks for its next trial
      if (!v2 || (*lifecycles == 0 && !lease.has_lease())) {
        v1::LeaseTrialRequest lr;
        lr.set_worker_id(reg.worker_id());
        if (!Call("lease",
                  [&](grpc::ClientContext* c) { return stub_->LeaseTrial(c, lr, &lease); }))
          return false;
      }
      if (!lease.has_lease()) return true;  // queue empty: done
      if (v2) pace();                       // a v2 worker holds its next lease: it starts the trial
      const v1::TrialLease l = lease.lease();
      if (!v2) {
        for (int beat = 1; beat <= heartbeats_; ++beat) {
          const v1::HeartbeatRequest h = HeartbeatRequest(reg.worker_id(), l, beat, batches_);
          v1::HeartbeatResponse hr;
          if (!Call("heartbeat",
                    [&](grpc::ClientContext* c) { return stub_->Heartbeat(c, h, &hr); }))
            return false;
        }
      }
      for (int step = 1; step <= MetricsCalls(protocol, batches_); ++step) {
        const v1::ReportMetricsRequest m =
            MetricsRequest(reg.worker_id(), l, step, points_, protocol, heartbeats_, batches_);
        v1::ReportMetricsResponse mr;
        if (!Call("metrics",
                  [&](grpc::ClientContext* c) { return stub_->ReportMetrics(c, m, &mr); }))
          return false;
        *points_stored += points_;
      }
      const v1::CompleteTrialRequest cr =
          CompleteRequest(reg.worker_id(), l, protocol, points_, heartbeats_, batches_);
      v1::CompleteTrialResponse cresp;
      if (!Call(v2 ? "lease" : "complete",
                [&](grpc::ClientContext* c) { return stub_->CompleteTrial(c, cr, &cresp); }))
        return false;
      ++*lifecycles;
      *points_stored += PointsOnComplete(protocol, points_, batches_);
      if (v2) {
        if (!cresp.has_next()) {
          std::cerr << "complete: no next lease in the reply (a v1 coordinator?)\n";
          return false;
        }
        lease = cresp.next();
      }
    }
  }

  Latencies latencies;

 private:
  template <typename F>
  bool Call(const char* rpc, F f) {
    grpc::ClientContext context;
    gridrun::PrepareContext(&context, options_, std::chrono::seconds(30));
    const double t0 = NowSeconds();
    grpc::Status s = f(&context);
    latencies.by_rpc[rpc].push_back(NowSeconds() - t0);
    if (!s.ok()) std::cerr << rpc << ": " << s.error_message() << "\n";
    return s.ok();
  }

  gridrun::ClientOptions options_;
  int heartbeats_, batches_, points_;
  std::unique_ptr<v1::WorkerService::Stub> stub_;
};

// Runs functions at given times (NowSeconds()'s clock) on one thread: the
// pacing of callback workers (--rate), which have no thread to sleep on.
// Thread-safe. The destructor drops what has not run yet.
class Pacer {
 public:
  Pacer() : thread_([this] { Loop(); }) {}
  ~Pacer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void At(double when_s, std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      due_.emplace(when_s, std::move(fn));
    }
    cv_.notify_all();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      if (due_.empty()) {
        cv_.wait(lock);
        continue;
      }
      const double wait_s = due_.begin()->first - NowSeconds();
      if (wait_s > 0) {
        cv_.wait_for(lock, std::chrono::duration<double>(wait_s));
        continue;
      }
      std::function<void()> fn = std::move(due_.begin()->second);
      due_.erase(due_.begin());
      lock.unlock();
      fn();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<double, std::function<void()>> due_;  // guarded by mu_
  bool stop_ = false;                                   // guarded by mu_
  std::thread thread_;
};

// The same worker on gRPC's callback client API (--clients callback): no
// thread of its own; the callback of each reply, run on one of gRPC's few
// threads, sends the next call. 64 of them add a handful of threads to the
// process instead of 64 runnable ones beside the server, which is closer to
// workers on other machines. One call in flight per worker, as above.
class CallbackWorker {
 public:
  CallbackWorker(const gridrun::ClientOptions& options, int heartbeats, int batches, int points,
                 Protocol protocol, std::function<void(bool ok)> done)
      : options_(options),
        heartbeats_(heartbeats),
        batches_(batches),
        points_(points),
        protocol_(protocol),
        v2_(protocol != Protocol::kV1),
        done_(std::move(done)),
        stub_(v1::WorkerService::NewStub(OwnChannel(options.address))) {}

  // With `pacer`, the worker arrives at `first_s` and starts a trial every
  // `interval_s` seconds from then (at once when it is behind), as
  // SimWorker::Run does; without, it runs as fast as it can.
  void Start(Pacer* pacer = nullptr, double first_s = 0, double interval_s = 0) {
    pacer_ = pacer;
    next_trial_s_ = first_s;
    interval_s_ = interval_s;
    if (pacer_ != nullptr) {
      pacer_->At(next_trial_s_, [this] { Register(); });
    } else {
      Register();
    }
  }

  Latencies latencies;
  int64_t lifecycles = 0;
  int64_t points_stored = 0;

 private:
  // Runs `next` at the next trial's time (now, unpaced or behind).
  void Paced(std::function<void()> next) {
    if (pacer_ == nullptr) {
      next();
      return;
    }
    const double at_s = next_trial_s_;
    next_trial_s_ += interval_s_;
    if (at_s <= NowSeconds()) {
      next();
    } else {
      pacer_->At(at_s, std::move(next));
    }
  }

  void Register() {
    register_ = RegisterRequest();
    Call(
        "register",
        [this](grpc::ClientContext* c, auto cb) {
          stub_->async()->RegisterWorker(c, &register_, &registered_, std::move(cb));
        },
        [this] {
          if (!Understands(registered_, protocol_)) {
            done_(false);
            return;
          }
          v2_ ? RequestLease() : Paced([this] { RequestLease(); });
        });
  }

  // Sends one call; `then` runs when it succeeds, else the worker stops.
  template <typename StartCall>
  void Call(const char* rpc, StartCall start, std::function<void()> then) {
    previous_ = std::move(context_);  // its call is done; destroyed with the next one
    context_ = std::make_unique<grpc::ClientContext>();
    gridrun::PrepareContext(context_.get(), options_, std::chrono::seconds(30));
    const double t0 = NowSeconds();
    start(context_.get(), [this, rpc, t0, then = std::move(then)](grpc::Status s) {
      latencies.by_rpc[rpc].push_back(NowSeconds() - t0);
      if (!s.ok()) {
        std::cerr << rpc << ": " << s.error_message() << "\n";
        done_(false);
        return;
      }
      then();
    });
  }

  void RequestLease() {
    lease_request_.set_worker_id(registered_.worker_id());
    Call(
        "lease",
        [this](grpc::ClientContext* c, auto cb) {
          stub_->async()->LeaseTrial(c, &lease_request_, &lease_, std::move(cb));
        },
        [this] { StartTrial(); });
  }

  void StartTrial() {
    if (!lease_.has_lease()) {
      done_(true);  // queue empty
      return;
    }
    trial_ = lease_.lease();
    beat_ = 0;
    batch_ = 0;
    // A v2 worker holds its next lease: it starts the trial (paced).
    v2_ ? Paced([this] { NextBatch(); }) : NextHeartbeat();
  }

  void NextHeartbeat() {
    if (++beat_ > heartbeats_) {
      NextBatch();
      return;
    }
    heartbeat_ = HeartbeatRequest(registered_.worker_id(), trial_, beat_, batches_);
    Call(
        "heartbeat",
        [this](grpc::ClientContext* c, auto cb) {
          stub_->async()->Heartbeat(c, &heartbeat_, &heartbeat_reply_, std::move(cb));
        },
        [this] { NextHeartbeat(); });
  }

  void NextBatch() {
    if (++batch_ > MetricsCalls(protocol_, batches_)) {
      Complete();
      return;
    }
    metrics_ = MetricsRequest(registered_.worker_id(), trial_, batch_, points_, protocol_,
                              heartbeats_, batches_);
    Call(
        "metrics",
        [this](grpc::ClientContext* c, auto cb) {
          stub_->async()->ReportMetrics(c, &metrics_, &metrics_reply_, std::move(cb));
        },
        [this] {
          points_stored += points_;
          NextBatch();
        });
  }

  void Complete() {
    complete_ =
        CompleteRequest(registered_.worker_id(), trial_, protocol_, points_, heartbeats_, batches_);
    Call(
        v2_ ? "lease" : "complete",
        [this](grpc::ClientContext* c, auto cb) {
          stub_->async()->CompleteTrial(c, &complete_, &completed_, std::move(cb));
        },
        [this] {
          ++lifecycles;
          points_stored += PointsOnComplete(protocol_, points_, batches_);
          if (!v2_) {
            Paced([this] { RequestLease(); });  // a v1 worker asks for its next trial
          } else if (!completed_.has_next()) {
            std::cerr << "complete: no next lease in the reply (a v1 coordinator?)\n";
            done_(false);
          } else {
            lease_ = completed_.next();
            StartTrial();
          }
        });
  }

  Pacer* pacer_ = nullptr;
  double next_trial_s_ = 0, interval_s_ = 0;
  gridrun::ClientOptions options_;
  int heartbeats_, batches_, points_;
  Protocol protocol_;
  bool v2_;  // v2 or v3: the completion leases the next trial
  std::function<void(bool ok)> done_;
  std::unique_ptr<v1::WorkerService::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> context_, previous_;
  v1::RegisterWorkerRequest register_;
  v1::RegisterWorkerResponse registered_;
  v1::LeaseTrialRequest lease_request_;
  v1::LeaseTrialResponse lease_;
  v1::TrialLease trial_;
  v1::HeartbeatRequest heartbeat_;
  v1::HeartbeatResponse heartbeat_reply_;
  v1::ReportMetricsRequest metrics_;
  v1::ReportMetricsResponse metrics_reply_;
  v1::CompleteTrialRequest complete_;
  v1::CompleteTrialResponse completed_;
  int beat_ = 0, batch_ = 0;
};

}  // namespace gridrun::bench::sim
