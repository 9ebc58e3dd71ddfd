// A stand-in for gridrun-worker that "trains" each trial by sleeping (or
// spinning) a fixed time, for the grid-overhead benchmark:
//
//   GRIDRUN_BENCH_TRIAL_SECONDS=0.25 gridrun local grid.yaml --workers 2 \
//       --worker-binary build/bench/gridrun-bench-sleep-worker
//
// It speaks the worker protocol like rank 0 of the real worker: register,
// lease, one heartbeat and one metrics batch per trial, complete; it exits
// after --exit-when-idle seconds without work, or at once on SIGTERM when idle
// (as the real worker, which `gridrun local` signals at the end of a grid;
// during a trial it finishes the trial first). It accepts (and ignores) the
// other flags `gridrun local` passes. GRIDRUN_BENCH_TRIAL_MODE=spin burns CPU
// instead of sleeping.
#include <grpcpp/grpcpp.h>

#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include "bench/bench_util.h"
#include "proto/client_channel.h"
#include "proto/gridrun.grpc.pb.h"

namespace v1 = gridrun::v1;
using gridrun::bench::NowSeconds;

namespace {

std::atomic<bool> g_terminate{false};
void OnTerminate(int) { g_terminate = true; }

void Work(double seconds, bool spin) {
  if (!spin) {
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    return;
  }
  volatile double x = 0;
  const double end = NowSeconds() + seconds;
  while (NowSeconds() < end) {
    for (int i = 0; i < 1000; ++i) x = x + 1e-9;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sleeping stand-in for gridrun-worker (benchmarks only)"};
  app.allow_extras();
  gridrun::ClientOptions client;
  double exit_when_idle_s = 3;
  int threads = 1;
  std::string data_dir;
  app.add_option("--coordinator", client.address, "coordinator HOST:PORT")->required();
  app.add_option("--exit-when-idle", exit_when_idle_s, "exit after this long without work");
  app.add_option("--threads", threads, "ignored");
  app.add_option("--data-dir", data_dir, "ignored");
  CLI11_PARSE(app, argc, argv);
  struct sigaction action = {};
  action.sa_handler = OnTerminate;
  sigaction(SIGTERM, &action, nullptr);
  const char* secs_env = std::getenv("GRIDRUN_BENCH_TRIAL_SECONDS");
  const double trial_seconds = secs_env ? std::atof(secs_env) : 0.25;
  if (!(trial_seconds >= 0)) {
    std::cerr << "GRIDRUN_BENCH_TRIAL_SECONDS: must be a number >= 0, got '" << secs_env << "'\n";
    return 2;
  }
  const char* mode = std::getenv("GRIDRUN_BENCH_TRIAL_MODE");
  const bool spin = mode && std::string(mode) == "spin";

  auto stub = v1::WorkerService::NewStub(gridrun::CreateCoordinatorChannel(client));
  auto call = [&](auto f) {
    for (int attempt = 0;; ++attempt) {
      grpc::ClientContext c;
      gridrun::PrepareContext(&c, client, std::chrono::seconds(10));
      grpc::Status s = f(&c);
      if (s.error_code() != grpc::StatusCode::UNAVAILABLE || attempt > 50) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  };
  v1::RegisterWorkerRequest rr;
  rr.set_host("bench-sleep");
  rr.set_ranks(1);
  rr.set_device("cpu");
  v1::RegisterWorkerResponse reg;
  if (auto s = call([&](grpc::ClientContext* c) { return stub->RegisterWorker(c, rr, &reg); });
      !s.ok()) {
    std::cerr << "RegisterWorker: " << s.error_message() << "\n";
    return 1;
  }
  double idle_since = NowSeconds();
  while (!g_terminate) {
    v1::LeaseTrialRequest lr;
    lr.set_worker_id(reg.worker_id());
    v1::LeaseTrialResponse lease;
    if (auto s = call([&](grpc::ClientContext* c) { return stub->LeaseTrial(c, lr, &lease); });
        !s.ok()) {
      std::cerr << "LeaseTrial: " << s.error_message() << "\n";
      return 1;
    }
    if (!lease.has_lease()) {
      if (NowSeconds() - idle_since >= exit_when_idle_s) return 0;
      // In 20 ms slices, so that SIGTERM is noticed quickly.
      const double until = NowSeconds() +
          std::max<int64_t>(10, std::min<int64_t>(lease.retry_after_ms(), 1000)) / 1000.0;
      while (!g_terminate && NowSeconds() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      continue;
    }
    const auto& l = lease.lease();
    Work(trial_seconds, spin);
    v1::ReportMetricsRequest m;
    m.set_worker_id(reg.worker_id());
    m.set_trial_id(l.trial_id());
    m.set_attempt(l.attempt());
    auto* p = m.add_points();
    p->set_name("test/loss");
    p->set_step(1);
    p->set_epoch(1);
    p->set_value(static_cast<double>(l.trial_id()));
    v1::ReportMetricsResponse mr;
    call([&](grpc::ClientContext* c) { return stub->ReportMetrics(c, m, &mr); });
    v1::HeartbeatRequest h;
    h.set_worker_id(reg.worker_id());
    h.set_trial_id(l.trial_id());
    h.set_attempt(l.attempt());
    h.mutable_progress()->set_step(1);
    h.mutable_progress()->set_total_steps(1);
    v1::HeartbeatResponse hr;
    call([&](grpc::ClientContext* c) { return stub->Heartbeat(c, h, &hr); });
    v1::CompleteTrialRequest cr;
    cr.set_worker_id(reg.worker_id());
    cr.set_trial_id(l.trial_id());
    cr.set_attempt(l.attempt());
    v1::CompleteTrialResponse cresp;
    if (auto s = call([&](grpc::ClientContext* c) { return stub->CompleteTrial(c, cr, &cresp); });
        !s.ok()) {
      std::cerr << "CompleteTrial: " << s.error_message() << "\n";
    }
    idle_since = NowSeconds();
  }
  return 0;
}
