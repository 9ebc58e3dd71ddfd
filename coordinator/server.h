// CoordinatorServer: one running coordinator (store + services + gRPC
// server + lease reaper), as gridrun-coordinator, `gridrun local` and the
// tests start it.
//
// Start() opens (or creates) the database, recovers nothing by hand — leases
// recorded before a crash simply run out and the reaper re-queues their
// trials — and starts listening. Shutdown() stops accepting calls, finishes
// the ones in flight and stops the reaper. Thread-safe: Start/Shutdown from
// one thread; the services from any.
//
// Threads: every RPC is served on gRPC's callback API
// (coordinator/callback_services.h), so calls and watch streams borrow
// gRPC's own threads for as long as a handler runs and hold none while they
// wait; the coordinator adds the lease reaper, the GroupCommitter's thread
// that runs the workers' small writes in shared transactions, and a fixed
// HandlerPool that runs the other unary calls' logic (kHandlerThreads).
#pragma once

#include <grpcpp/server.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "coordinator/auth.h"
#include "coordinator/callback_services.h"
#include "coordinator/checkpoint_files.h"
#include "coordinator/coordinator_options.h"
#include "coordinator/grid_service.h"
#include "coordinator/group_committer.h"
#include "coordinator/handler_pool.h"
#include "coordinator/trial_store.h"
#include "coordinator/watch_hub.h"
#include "coordinator/worker_service.h"

namespace gridrun::coordinator {

class CoordinatorServer {
 public:
  // Threads of the HandlerPool (registration, samples, the grid service):
  // enough that validation and protobuf work of a few calls overlap the one
  // store connection's transaction.
  static constexpr int kHandlerThreads = 4;

  // `clock` may be null (system clock); it must outlive the server.
  static absl::StatusOr<std::unique_ptr<CoordinatorServer>> Start(
      const CoordinatorOptions& options, const Clock* clock = nullptr);
  ~CoordinatorServer();

  // The port actually bound (useful with port 0).
  int port() const { return port_; }
  std::string address() const;
  // Blocks until Shutdown() is called from another thread.
  void Wait();
  void Shutdown();

  TrialStore* store() { return store_.get(); }
  // WatchExperiment streams open now.
  int watchers() const { return watch_hub_->watchers(); }
  // Batches and calls the GroupCommitter has run (calls per commit).
  GroupCommitter::Stats group_commit_stats() const { return committer_->stats(); }

 private:
  CoordinatorServer() = default;
  void ReapLoop();

  CoordinatorOptions options_;
  const Clock* clock_ = nullptr;
  std::unique_ptr<TrialStore> store_;
  std::unique_ptr<CheckpointFiles> checkpoints_;
  std::unique_ptr<TorchScriptStore> torchscript_;
  std::unique_ptr<TokenAuthenticator> auth_;
  std::unique_ptr<GridServiceImpl> grid_service_;
  std::unique_ptr<WorkerServiceImpl> worker_service_;
  std::unique_ptr<WatchHub> watch_hub_;  // reset after server_ (it holds watches)
  std::unique_ptr<HandlerPool> handler_pool_;  // reset after server_ (calls run on it)
  std::unique_ptr<GroupCommitter> committer_;  // reset after server_ (calls run on it)
  std::unique_ptr<GridCallbackService> grid_callback_;
  std::unique_ptr<WorkerCallbackService> worker_callback_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string host_;

  std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread reaper_;
};

}  // namespace gridrun::coordinator
