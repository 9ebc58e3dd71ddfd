// Coordinator throughput: K simulated workers (gRPC clients in this process,
// one channel each, loopback) against an in-process CoordinatorServer with a
// real SQLite file (WAL, synchronous as shipped). Each worker registers, then
// runs trivial trials until the queue is empty, in one of two shapes:
//   v1 (the previous protocol, as a worker of the previous version speaks
//      it): lease -> heartbeat x H -> metrics batch x B -> complete;
//   v2 (proto convention 8): metrics batch x B, the first H of them carrying
//      the heartbeat's progress -> complete with lease_next, whose reply is
//      the next lease (one LeaseTrial per worker at the start).
//
//   gridrun-bench-coordinator --workers 64 --trials 2000 --heartbeats 1 --batches 3 --points 50 \
//       --shapes v1,v2,v1,v2
//
// Each listed shape is one round on a fresh server and database, in the
// order given (alternate them so both see the same machine load). To
// compare two builds of the coordinator, alternate their binaries
// (bench/run.sh --coord-baseline does); --label marks a build's rows. On
// stderr each round also says how many calls the GroupCommitter ran in how
// many commits and how busy its thread was.
// A real worker heartbeats every lease_timeout / 3 (10 s by default) and sends
// metrics about once a second, so a short trial has one heartbeat and a few
// batches (H = 1); H = B is the old, heartbeat-heavy shape.
// Prints a markdown row per round: trial lifecycles/s, metric points/s,
// p50/p99 latency of each RPC ("lease" is the call that delivers a lease:
// LeaseTrial in v1, CompleteTrial with lease_next in v2), the wall time
// (submit excluded), CPU seconds (all, and the server's: all minus the
// simulated workers' own threads) and the process's thread count.
#include <grpcpp/grpcpp.h>
#include <pthread.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "common/logging.h"
#include "coordinator/server.h"
#include "proto/client_channel.h"
#include "proto/gridrun.grpc.pb.h"

namespace {

using gridrun::bench::NowSeconds;
namespace v1 = gridrun::v1;

// Per-RPC latencies (seconds), merged from every worker at the end.
struct Latencies {
  std::map<std::string, std::vector<double>> by_rpc;
  void Merge(const Latencies& other) {
    for (const auto& [k, v] : other.by_rpc) by_rpc[k].insert(by_rpc[k].end(), v.begin(), v.end());
  }
};

// A spec with at least `trials` trials: latent_size x width grid of vae-mlp.
std::string TrivialSpec(int trials, const std::string& name) {
  int a = 1;
  while (a * a < trials) ++a;
  const int b = (trials + a - 1) / a;
  std::string spec = "experiment: " + name + "\ndataset: mnist\nmodel: vae-mlp\nepochs: 1\ngrid:\n";
  spec += "  latent_size: [";
  for (int i = 0; i < a; ++i) spec += (i ? ", " : "") + std::to_string(i + 1);
  spec += "]\n  width: [";
  for (int i = 0; i < b; ++i) spec += (i ? ", " : "") + std::to_string(100 + i);
  return spec + "]\n";
}

// A channel with its own TCP connection (a local subchannel pool), as a
// separate worker process would have; gRPC otherwise shares one connection.
std::shared_ptr<grpc::Channel> OwnChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

// User + system CPU seconds of this process (server and clients together):
// lifecycles per CPU-second is a load-independent view on a shared machine.
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec * 1e-6;
}

class SimWorker {
 public:
  SimWorker(const gridrun::ClientOptions& options, int heartbeats, int batches, int points)
      : options_(options),
        heartbeats_(heartbeats),
        batches_(batches),
        points_(points),
        stub_(v1::WorkerService::NewStub(OwnChannel(options.address))) {}

  // Returns false on an unexpected error (printed).
  bool Run(bool v2, int64_t* lifecycles, int64_t* points_stored) {
    v1::RegisterWorkerResponse reg;
    {
      v1::RegisterWorkerRequest r;
      r.set_host("bench");
      r.set_ranks(1);
      r.set_device("cpu");
      if (!Call("register", [&](grpc::ClientContext* c) { return stub_->RegisterWorker(c, r, &reg); }))
        return false;
    }
    v1::LeaseTrialResponse lease;
    for (;;) {
      if (!v2 || (*lifecycles == 0 && !lease.has_lease())) {
        v1::LeaseTrialRequest lr;
        lr.set_worker_id(reg.worker_id());
        if (!Call("lease", [&](grpc::ClientContext* c) { return stub_->LeaseTrial(c, lr, &lease); }))
          return false;
      }
      if (!lease.has_lease()) return true;  // queue empty: done
      const v1::TrialLease l = lease.lease();
      if (!v2) {
        for (int beat = 1; beat <= heartbeats_; ++beat) {
          v1::HeartbeatRequest h;
          h.set_worker_id(reg.worker_id());
          h.set_trial_id(l.trial_id());
          h.set_attempt(l.attempt());
          h.mutable_progress()->set_step(beat);
          h.mutable_progress()->set_total_steps(batches_);
          v1::HeartbeatResponse hr;
          if (!Call("heartbeat", [&](grpc::ClientContext* c) { return stub_->Heartbeat(c, h, &hr); }))
            return false;
        }
      }
      for (int step = 1; step <= batches_; ++step) {
        v1::ReportMetricsRequest m;
        m.set_worker_id(reg.worker_id());
        m.set_trial_id(l.trial_id());
        m.set_attempt(l.attempt());
        for (int i = 0; i < points_; ++i) {
          auto* p = m.add_points();
          p->set_name("m" + std::to_string(i));
          p->set_step(step);
          p->set_epoch(1);
          p->set_value(step * 0.5 + i);
        }
        if (v2 && step <= heartbeats_) {
          m.mutable_progress()->set_step(step);
          m.mutable_progress()->set_total_steps(batches_);
        }
        v1::ReportMetricsResponse mr;
        if (!Call("metrics", [&](grpc::ClientContext* c) { return stub_->ReportMetrics(c, m, &mr); }))
          return false;
        *points_stored += points_;
      }
      v1::CompleteTrialRequest cr;
      cr.set_worker_id(reg.worker_id());
      cr.set_trial_id(l.trial_id());
      cr.set_attempt(l.attempt());
      cr.set_lease_next(v2);
      v1::CompleteTrialResponse cresp;
      if (!Call(v2 ? "lease" : "complete",
                [&](grpc::ClientContext* c) { return stub_->CompleteTrial(c, cr, &cresp); }))
        return false;
      ++*lifecycles;
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

}  // namespace

// Threads of this process now (/proc/self/status).
int ThreadCount() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

struct RoundSettings {
  int workers, trials, heartbeats, batches, points;
  std::string dir;
  std::string label;  // prefixes the shape column (e.g. "baseline" for another build)
};

// One round on a fresh server and database; prints its row. False on failure.
bool RunRound(const RoundSettings& r, bool v2, int round) {
  namespace fs = std::filesystem;
  const std::string dir = r.dir + "/round" + std::to_string(round);
  fs::create_directories(dir);
  gridrun::coordinator::CoordinatorOptions options;
  options.listen = "127.0.0.1:0";
  options.db_path = dir + "/bench.db";
  options.retry_after_ms = 10;
  auto server = gridrun::coordinator::CoordinatorServer::Start(options);
  if (!server.ok()) {
    std::cerr << "coordinator: " << server.status() << "\n";
    return false;
  }
  gridrun::ClientOptions client;
  client.address = (*server)->address();

  int64_t trial_count = 0;
  {
    auto stub = v1::GridService::NewStub(gridrun::CreateCoordinatorChannel(client));
    grpc::ClientContext context;
    gridrun::PrepareContext(&context, client, std::chrono::seconds(120));
    v1::SubmitGridRequest request;
    request.set_spec_yaml(TrivialSpec(r.trials, "bench-" + std::to_string(getpid())));
    v1::SubmitGridResponse response;
    const double t0 = NowSeconds();
    grpc::Status s = stub->SubmitGrid(&context, request, &response);
    if (!s.ok()) {
      std::cerr << "SubmitGrid: " << s.error_message() << "\n";
      return false;
    }
    trial_count = response.trial_count();
    std::fprintf(stderr, "round %d (%s): submitted %lld trials in %.2f s\n", round,
                 v2 ? "v2" : "v1", static_cast<long long>(trial_count), NowSeconds() - t0);
  }

  std::vector<std::unique_ptr<SimWorker>> sims;
  for (int i = 0; i < r.workers; ++i) {
    sims.push_back(std::make_unique<SimWorker>(client, r.heartbeats, r.batches, r.points));
  }
  std::vector<int64_t> lifecycles(r.workers, 0), stored(r.workers, 0);
  std::atomic<bool> failed{false};
  std::atomic<int> peak_threads{0};
  // CPU of each simulated worker's own thread (its sync gRPC calls run their
  // client side there); the rest of the process's CPU is the server's.
  std::vector<double> client_cpu(r.workers, 0.0);
  std::vector<std::thread> threads;
  const double cpu0 = CpuSeconds();
  const double t0 = NowSeconds();
  for (int i = 0; i < r.workers; ++i) {
    threads.emplace_back([&, i] {
      pthread_setname_np(pthread_self(), "bench-worker");  // perf --comm tells them apart
      if (!sims[i]->Run(v2, &lifecycles[i], &stored[i])) failed = true;
      if (i == 0) peak_threads = ThreadCount();
      rusage u{};
      getrusage(RUSAGE_THREAD, &u);
      client_cpu[i] = u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec +
                      u.ru_stime.tv_usec * 1e-6;
    });
  }
  for (auto& t : threads) t.join();
  const double wall = NowSeconds() - t0;
  const double cpu = CpuSeconds() - cpu0;
  (*server)->Shutdown();
  const auto commits = (*server)->group_commit_stats();
  std::fprintf(stderr,
               "round %d: %lld calls in %lld group commits (largest %lld); committer thread "
               "busy %.2f CPU-s of %.2f s\n",
               round, static_cast<long long>(commits.calls), static_cast<long long>(commits.batches),
               static_cast<long long>(commits.largest_batch), commits.busy_cpu_seconds, wall);

  Latencies all;
  int64_t total_lifecycles = 0, total_points = 0;
  for (int i = 0; i < r.workers; ++i) {
    all.Merge(sims[i]->latencies);
    total_lifecycles += lifecycles[i];
    total_points += stored[i];
  }
  auto ms = [&](const char* rpc, double q) {
    return all.by_rpc[rpc].empty() ? 0.0 : 1e3 * gridrun::bench::Quantile(all.by_rpc[rpc], q);
  };
  int64_t calls = 0;
  for (const auto& [rpc, v] : all.by_rpc) calls += static_cast<int64_t>(v.size());
  const std::string shape = (r.label.empty() ? "" : r.label + " ") + (v2 ? "v2" : "v1");
  std::printf(
      "| %s | %d | %lld | %d | %d x %d | %.2f | %.0f | %.0f | %.2f | %.2f / %.2f | %.2f / %.2f | "
      "%.2f / %.2f | %.2f / %.2f | %.2f | %.2f | %.0f | %d |\n",
      shape.c_str(), r.workers, static_cast<long long>(total_lifecycles), r.heartbeats,
      r.batches, r.points, wall, total_lifecycles / wall, total_points / wall,
      total_lifecycles > 0 ? static_cast<double>(calls) / total_lifecycles : 0.0, ms("lease", 0.5),
      ms("lease", 0.99), ms("metrics", 0.5), ms("metrics", 0.99), ms("heartbeat", 0.5),
      ms("heartbeat", 0.99), ms("complete", 0.5), ms("complete", 0.99), cpu,
      cpu - std::accumulate(client_cpu.begin(), client_cpu.end(), 0.0), total_lifecycles / cpu,
      peak_threads.load());
  std::fflush(stdout);
  if (failed || total_lifecycles != trial_count) {
    std::cerr << "FAILED: " << total_lifecycles << " of " << trial_count << " trials completed\n";
    return false;
  }
  return true;
}

int main(int argc, char** argv) {
  CLI::App app{"gridrun coordinator throughput benchmark"};
  RoundSettings r{64, 2000, 1, 3, 50, "", ""};
  std::vector<std::string> shapes{"v1", "v2"};
  bool header = false;
  app.add_option("--workers", r.workers, "simulated workers")->check(CLI::Range(1, 1024));
  app.add_option("--trials", r.trials, "trials (rounded up to a grid)")->check(CLI::Range(1, 1000000));
  app.add_option("--heartbeats", r.heartbeats, "heartbeats per trial")->check(CLI::Range(0, 10000));
  app.add_option("--batches", r.batches, "metric batches per trial")->check(CLI::Range(0, 10000));
  app.add_option("--points", r.points, "metric points per batch")->check(CLI::Range(1, 10000));
  app.add_option("--shapes", shapes, "rounds, in order: v1 (previous protocol) or v2")
      ->delimiter(',')
      ->check(CLI::IsMember({"v1", "v2"}));
  app.add_flag("--header", header, "print the table header first");
  app.add_option("--dir", r.dir, "where to put the databases (default: a new temp dir)");
  app.add_option("--label", r.label,
                 "printed before the shape (tells this build's rows from a baseline's)");
  CLI11_PARSE(app, argc, argv);
  gridrun::InitLogging("gridrun-bench-coordinator", "warn");
  if (r.heartbeats > r.batches) {
    std::cerr << "--heartbeats: at most --batches (v2 folds each heartbeat into a batch)\n";
    return 2;
  }

  namespace fs = std::filesystem;
  const bool own_dir = r.dir.empty();
  if (own_dir) {
    r.dir = (fs::temp_directory_path() / ("gridrun-bench-coord-" + std::to_string(getpid()))).string();
  }
  if (header) {
    std::printf(
        "| shape | workers | lifecycles | heartbeats | batches x points | wall s | lifecycles/s | "
        "metric points/s | RPCs per trial | lease p50/p99 ms | metrics p50/p99 ms | "
        "heartbeat p50/p99 ms | complete p50/p99 ms | CPU s (server + clients) | of which "
        "server | lifecycles per CPU-s | threads |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  }
  bool ok = true;
  for (size_t i = 0; i < shapes.size() && ok; ++i) ok = RunRound(r, shapes[i] == "v2", static_cast<int>(i));
  if (own_dir) fs::remove_all(r.dir);
  return ok ? 0 : 1;
}
