// Coordinator throughput: K simulated workers (gRPC clients in this process,
// one channel each, loopback) against an in-process CoordinatorServer with a
// real SQLite file (WAL, synchronous as shipped). Each worker registers, then
// runs trivial trials until the queue is empty, in one of two shapes:
//   v1 (the previous protocol, as a worker of the previous version speaks
//      it): lease -> heartbeat x H -> metrics batch x B -> complete;
//   v2 (proto convention 8): metrics batch x B, the first H of them carrying
//      the heartbeat's progress -> complete with lease_next, whose reply is
//      the next lease (one LeaseTrial per worker at the start).
//   v3 (convention 8e): v2 with the last batch (and its progress, when due)
//      on the completion: B - 1 metrics calls, then complete.
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
// The simulated workers share the machine with the server. By default each
// is a thread making synchronous gRPC calls (64 runnable threads beside the
// server's); --clients callback runs them on gRPC's callback client instead,
// with no thread of their own, which takes less of the machine from the
// server, as workers on other machines would. Rows say which. --rate R
// paces the workers (either kind) to offer R lifecycles/s together, for latency
// below saturation; without it every worker runs as fast as it can.
// A real worker heartbeats every lease_timeout / 3 (10 s by default) and sends
// metrics about once a second, so a short trial has one heartbeat and a few
// batches (H = 1); H = B is the old, heartbeat-heavy shape.
// Prints a markdown row per round: trial lifecycles/s, metric points/s,
// p50/p99 latency of each RPC ("lease" is the call that delivers a lease:
// LeaseTrial in v1, CompleteTrial with lease_next in v2 and v3), the wall time
// (submit excluded), CPU seconds (all, and the server's: all minus the
// simulated workers' own threads) and the process's thread count.
#include <grpcpp/grpcpp.h>
#include <pthread.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <condition_variable>
#include <functional>
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
#include "bench/sim_workers.h"
#include "common/logging.h"
#include "coordinator/server.h"
#include "proto/client_channel.h"
#include "proto/gridrun.grpc.pb.h"

namespace {

using gridrun::bench::NowSeconds;
using gridrun::bench::sim::CallbackWorker;
using gridrun::bench::sim::Latencies;
using gridrun::bench::sim::Pacer;
using gridrun::bench::sim::Protocol;
using gridrun::bench::sim::SimWorker;
namespace v1 = gridrun::v1;

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

// User + system CPU seconds of this process (server and clients together):
// lifecycles per CPU-second is a load-independent view on a shared machine.
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec * 1e-6;
}

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
  std::string label;    // prefixes the shape column (e.g. "baseline" for another build)
  bool callback_clients;  // CallbackWorker instead of a SimWorker thread each
  // Lifecycles/s the workers offer together, each starting a trial every
  // workers / rate seconds (staggered); 0: each as fast as it can (saturation).
  double rate;
};

// One round on a fresh server and database; prints its row. False on failure.
bool RunRound(const RoundSettings& r, Protocol protocol, int round) {
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
                 ProtocolName(protocol), static_cast<long long>(trial_count), NowSeconds() - t0);
  }

  std::vector<std::unique_ptr<SimWorker>> sims;
  std::vector<std::unique_ptr<CallbackWorker>> callback_sims;
  std::vector<int64_t> lifecycles(r.workers, 0), stored(r.workers, 0);
  std::atomic<bool> failed{false};
  std::atomic<int> peak_threads{0};
  // CPU of each simulated worker's own thread (its sync gRPC calls run their
  // client side there); the rest of the process's CPU is the server's. Not
  // known for callback clients, which run on gRPC's threads beside the server.
  std::vector<double> client_cpu(r.workers, 0.0);
  double cpu0 = 0, t0 = 0;
  if (r.callback_clients) {
    std::mutex mu;
    std::condition_variable all_done;
    int finished = 0;
    for (int i = 0; i < r.workers; ++i) {
      callback_sims.push_back(std::make_unique<CallbackWorker>(
          client, r.heartbeats, r.batches, r.points, protocol, [&](bool ok) {
            std::lock_guard<std::mutex> lock(mu);
            if (!ok) failed = true;
            if (++finished == 1) peak_threads = ThreadCount();
            all_done.notify_all();
          }));
    }
    std::unique_ptr<Pacer> pacer;
    if (r.rate > 0) pacer = std::make_unique<Pacer>();
    const double interval_s = r.rate > 0 ? r.workers / r.rate : 0;
    cpu0 = CpuSeconds();
    t0 = NowSeconds();
    for (int i = 0; i < r.workers; ++i) {
      callback_sims[i]->Start(pacer.get(), t0 + interval_s * i / r.workers, interval_s);
    }
    std::unique_lock<std::mutex> lock(mu);
    all_done.wait(lock, [&] { return finished == r.workers; });
    for (int i = 0; i < r.workers; ++i) {
      lifecycles[i] = callback_sims[i]->lifecycles;
      stored[i] = callback_sims[i]->points_stored;
    }
  } else {
    for (int i = 0; i < r.workers; ++i) {
      sims.push_back(std::make_unique<SimWorker>(client, r.heartbeats, r.batches, r.points));
    }
    std::vector<std::thread> threads;
    cpu0 = CpuSeconds();
    t0 = NowSeconds();
    for (int i = 0; i < r.workers; ++i) {
      threads.emplace_back([&, i] {
        pthread_setname_np(pthread_self(), "bench-worker");  // perf --comm tells them apart
        const double interval_s = r.rate > 0 ? r.workers / r.rate : 0;
        if (!sims[i]->Run(protocol, t0 + interval_s * i / r.workers, interval_s, &lifecycles[i],
                          &stored[i])) {
          failed = true;
        }
        if (i == 0) peak_threads = ThreadCount();
        rusage u{};
        getrusage(RUSAGE_THREAD, &u);
        client_cpu[i] = u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec +
                        u.ru_stime.tv_usec * 1e-6;
      });
    }
    for (auto& t : threads) t.join();
  }
  const double wall = NowSeconds() - t0;
  const double cpu = CpuSeconds() - cpu0;
  (*server)->Shutdown();
  const auto commits = (*server)->group_commit_stats();
  std::fprintf(stderr,
               "round %d: %lld calls in %lld group commits (largest %lld); committer thread "
               "busy %.2f CPU-s of %.2f s, replier %.2f CPU-s\n",
               round, static_cast<long long>(commits.calls), static_cast<long long>(commits.batches),
               static_cast<long long>(commits.largest_batch), commits.busy_cpu_seconds, wall,
               commits.reply_cpu_seconds);

  Latencies all;
  int64_t total_lifecycles = 0, total_points = 0;
  for (int i = 0; i < r.workers; ++i) {
    all.Merge(r.callback_clients ? callback_sims[i]->latencies : sims[i]->latencies);
    total_lifecycles += lifecycles[i];
    total_points += stored[i];
  }
  auto ms = [&](const char* rpc, double q) {
    return all.by_rpc[rpc].empty() ? 0.0 : 1e3 * gridrun::bench::Quantile(all.by_rpc[rpc], q);
  };
  int64_t calls = 0;
  for (const auto& [rpc, v] : all.by_rpc) calls += static_cast<int64_t>(v.size());
  const std::string shape = (r.label.empty() ? "" : r.label + " ") + ProtocolName(protocol) +
                            (r.callback_clients ? " callback" : "") +
                            (r.rate > 0 ? " at " + std::to_string(static_cast<int>(r.rate)) + "/s"
                                        : "");
  char server_cpu[32] = "-";
  if (!r.callback_clients) {
    std::snprintf(server_cpu, sizeof server_cpu, "%.2f",
                  cpu - std::accumulate(client_cpu.begin(), client_cpu.end(), 0.0));
  }
  std::printf(
      "| %s | %d | %lld | %d | %d x %d | %.2f | %.0f | %.0f | %.2f | %.2f / %.2f | %.2f / %.2f | "
      "%.2f / %.2f | %.2f / %.2f | %.2f | %s | %.0f | %d |\n",
      shape.c_str(), r.workers, static_cast<long long>(total_lifecycles), r.heartbeats,
      r.batches, r.points, wall, total_lifecycles / wall, total_points / wall,
      total_lifecycles > 0 ? static_cast<double>(calls) / total_lifecycles : 0.0, ms("lease", 0.5),
      ms("lease", 0.99), ms("metrics", 0.5), ms("metrics", 0.99), ms("heartbeat", 0.5),
      ms("heartbeat", 0.99), ms("complete", 0.5), ms("complete", 0.99), cpu, server_cpu,
      total_lifecycles / cpu,
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
  RoundSettings r{64, 2000, 1, 3, 50, "", "", false, 0};
  std::string clients = "threads";
  std::vector<std::string> shapes{"v1", "v2"};
  bool header = false;
  app.add_option("--workers", r.workers, "simulated workers")->check(CLI::Range(1, 1024));
  app.add_option("--trials", r.trials, "trials (rounded up to a grid)")->check(CLI::Range(1, 1000000));
  app.add_option("--heartbeats", r.heartbeats, "heartbeats per trial")->check(CLI::Range(0, 10000));
  app.add_option("--batches", r.batches, "metric batches per trial")->check(CLI::Range(0, 10000));
  app.add_option("--points", r.points, "metric points per batch")->check(CLI::Range(1, 10000));
  app.add_option("--shapes", shapes,
                 "rounds, in order: v1 (previous protocol), v2, or v3 (v2 with the last batch "
                 "on the completion)")
      ->delimiter(',')
      ->check(CLI::IsMember({"v1", "v2", "v3"}));
  app.add_flag("--header", header, "print the table header first");
  app.add_option("--dir", r.dir, "where to put the databases (default: a new temp dir)");
  app.add_option("--label", r.label,
                 "printed before the shape (tells this build's rows from a baseline's)");
  app.add_option("--clients", clients,
                 "threads: a thread per simulated worker, on gRPC's synchronous client; "
                 "callback: the workers on gRPC's callback client, no thread of their own")
      ->check(CLI::IsMember({"threads", "callback"}));
  app.add_option("--rate", r.rate,
                 "lifecycles/s the workers offer together (latency below saturation); "
                 "default 0: as fast as they can")
      ->check(CLI::Range(0.0, 1e6));
  CLI11_PARSE(app, argc, argv);
  r.callback_clients = clients == "callback";
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
  for (size_t i = 0; i < shapes.size() && ok; ++i) ok = RunRound(r,
                  shapes[i] == "v1"   ? Protocol::kV1
                  : shapes[i] == "v2" ? Protocol::kV2
                                      : Protocol::kV3,
                  static_cast<int>(i));
  if (own_dir) fs::remove_all(r.dir);
  return ok ? 0 : 1;
}
