// HandlerPool: a fixed set of threads that run the coordinator's unary RPC
// logic for the callback services (callback_services.h), except the
// workers' small writes, which the GroupCommitter batches
// (group_committer.h).
//
// Why not run the logic on gRPC's thread that delivered the request: with
// the callback API those few threads also poll the sockets, and the logic
// waits on the store's one SQLite connection, so every call queued behind a
// commit would stall everyone's I/O (measured: 15-30% fewer lifecycles per
// second than the former synchronous server). Here a call costs one
// hand-off to an idle pool thread; the pool never grows (no thread per
// call), and gRPC's threads only move bytes.
//
// Thread-safety: Run() from any thread. The destructor finishes the queued
// work, then joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace gridrun::coordinator {

class HandlerPool {
 public:
  explicit HandlerPool(int threads);
  ~HandlerPool();
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  // Queues `work` for the next free thread.
  void Run(std::function<void()> work);

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace gridrun::coordinator
