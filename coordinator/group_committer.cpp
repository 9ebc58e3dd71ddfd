#include "coordinator/group_committer.h"

#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace gridrun::coordinator {
namespace {

static_assert(GroupCommitter::kMaxBatch > CommitQueue<GroupCommitter::Call>::kBackgroundFloor,
              "a batch leaves room for the calls workers wait on");

double ThreadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

}  // namespace

GroupCommitter::GroupCommitter(TrialStore* store) : store_(store) {
  replier_ = std::thread([this] {
    // Named so that top, perf and gdb tell the coordinator's threads apart.
    pthread_setname_np(pthread_self(), "gridrun-reply");
    ReplyLoop();
  });
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "gridrun-commit");
    Loop();
    {
      std::lock_guard<std::mutex> lock(mu_);
      committer_done_ = true;
    }
    reply_cv_.notify_all();
  });
}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  replier_.join();  // after the last batch's replies
}

void GroupCommitter::Submit(std::unique_ptr<Call> call, CallPriority priority) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.Push(std::move(call), priority);
    // A busy committer takes the call with its next batch: no wake-up (and
    // no futex call) per call under load.
    wake = waiting_;
  }
  if (wake) cv_.notify_one();
}

GroupCommitter::Stats GroupCommitter::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void GroupCommitter::Loop() {
  std::vector<std::unique_ptr<Call>> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (queue_.empty()) {
        waiting_ = true;
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        waiting_ = false;
        if (queue_.empty()) return;  // stopping, and nothing left
      }
      const size_t n = queue_.Take(kMaxBatch, &batch);
      // Counted before any call of the batch hears back.
      ++stats_.batches;
      stats_.calls += static_cast<int64_t>(n);
      stats_.largest_batch = std::max<int64_t>(stats_.largest_batch, static_cast<int64_t>(n));
    }
    const double cpu0 = ThreadCpuSeconds();
    absl::Status commit = store_->Atomically([&]() -> absl::Status {
      for (const std::unique_ptr<Call>& call : batch) call->Run();
      return absl::OkStatus();
    });
    if (!commit.ok()) {
      // What each call answers: that none of it was kept, and why.
      commit = absl::Status(
          commit.code(),
          absl::StrCat("not stored: its group commit failed (", batch.size(),
                       batch.size() == 1 ? " call" : " calls", "): ", commit.message()));
    }
    const double cpu = ThreadCpuSeconds() - cpu0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.busy_cpu_seconds += cpu;
      replies_.push_back({std::move(batch), std::move(commit)});
    }
    reply_cv_.notify_one();
    batch.clear();
  }
}

void GroupCommitter::ReplyLoop() {
  for (;;) {
    Committed committed;
    {
      std::unique_lock<std::mutex> lock(mu_);
      reply_cv_.wait(lock, [this] { return committer_done_ || !replies_.empty(); });
      if (replies_.empty()) return;  // the committer is done, and so is every reply
      committed = std::move(replies_.front());
      replies_.pop_front();
    }
    const double cpu0 = ThreadCpuSeconds();
    for (const std::unique_ptr<Call>& call : committed.calls) call->Finish(committed.commit);
    const double cpu = ThreadCpuSeconds() - cpu0;
    std::lock_guard<std::mutex> lock(mu_);
    stats_.reply_cpu_seconds += cpu;
  }
}

}  // namespace gridrun::coordinator
