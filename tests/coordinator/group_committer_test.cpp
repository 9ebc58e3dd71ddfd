// GroupCommitter (coordinator/group_committer.h) on a real SQLite store:
// calls that queue while a batch runs share the next transaction, each
// call's failure is its own, no call hears back before its commit, and a
// batch whose transaction fails reaches every call with that error; replies
// go out on their own thread while the next batch runs; a call a worker
// waits on overtakes queued background calls.
#include "coordinator/group_committer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "coordinator/sqlite_trial_store.h"
#include "tests/coordinator/trial_store_contract.h"

namespace gridrun::coordinator {
namespace {
namespace group_committer_test {

using store_test::ScratchDir;

// What the test's calls heard, in the order Finish() was called.
struct Outcomes {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> finished;    // "name:commit status code"
  std::vector<bool> visible_at_finish;  // the call's row readable by another connection
  std::vector<std::string> messages;    // the commit status's message each call got
  void Wait(size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return finished.size() >= n; }))
        << finished.size() << " of " << n << " calls finished";
  }
};

// A call that registers worker `name` (or, with `fail`, registers it and
// then fails, so its savepoint rolls back), then reports at Finish whether
// a second connection already sees the row: the reply comes after the
// commit.
class WorkerCall : public GroupCommitter::Call {
 public:
  WorkerCall(TrialStore* store, const std::string& db_path, std::string name, Outcomes* out,
             bool fail = false, std::function<void()> before = nullptr)
      : store_(store),
        db_path_(db_path),
        name_(std::move(name)),
        out_(out),
        fail_(fail),
        before_(std::move(before)) {}
  void Run() override {
    if (before_) before_();
    ran_ = true;
    own_ = store_->Atomically([&]() -> absl::Status {
      absl::Status s = store_->UpsertWorker({name_, "host", 1, "cpu", 0, 1, 1});
      if (!s.ok()) return s;
      return fail_ ? absl::AbortedError("this call fails after its write") : absl::OkStatus();
    });
  }
  void Finish(const absl::Status& commit) override {
    bool visible = false;
    if (auto reader = SqliteTrialStore::OpenReadOnly(db_path_); reader.ok()) {
      visible = (*reader)->GetWorker(name_).ok();
    }
    std::lock_guard<std::mutex> lock(out_->mu);
    out_->finished.push_back(name_ + ":" + absl::StatusCodeToString(commit.code()) +
                             (ran_ ? "" : ":not run") + (own_.ok() ? "" : ":own error"));
    out_->messages.emplace_back(commit.message());
    out_->visible_at_finish.push_back(visible);
    out_->cv.notify_all();
  }

 private:
  TrialStore* store_;
  std::string db_path_;
  std::string name_;
  Outcomes* out_;
  bool fail_;
  std::function<void()> before_;
  bool ran_ = false;
  absl::Status own_;
};

// Blocks the committer's first call until Release(), so that the calls
// submitted meanwhile queue up for one batch.
class Gate {
 public:
  void Enter() {
    std::unique_lock<std::mutex> lock(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  void WaitEntered() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return entered_; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool open_ = false;
};

// A call that runs and finishes as scripted (no store work).
class ScriptedCall : public GroupCommitter::Call {
 public:
  ScriptedCall(std::function<void()> run, std::function<void()> finish)
      : run_(std::move(run)), finish_(std::move(finish)) {}
  void Run() override {
    if (run_) run_();
  }
  void Finish(const absl::Status&) override {
    if (finish_) finish_();
  }

 private:
  std::function<void()> run_, finish_;
};

class GroupCommitterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_path_ = (dir_.path() / "gridrun.db").string();
    auto store = SqliteTrialStore::Open(db_path_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  std::unique_ptr<WorkerCall> Call(const std::string& name, bool fail = false,
                                   std::function<void()> before = nullptr) {
    return std::make_unique<WorkerCall>(store_.get(), db_path_, name, &out_, fail,
                                        std::move(before));
  }

  ScratchDir dir_;
  std::string db_path_;
  std::unique_ptr<SqliteTrialStore> store_;
  Outcomes out_;
};

TEST_F(GroupCommitterTest, CallsThatQueueDuringABatchShareTheNextCommitAndReplyAfterIt) {
  GroupCommitter committer(store_.get());
  Gate gate;
  committer.Submit(Call("w-first", false, [&] { gate.Enter(); }), CallPriority::kBackground);
  gate.WaitEntered();
  for (int i = 0; i < 20; ++i) committer.Submit(Call("w-" + std::to_string(i)), CallPriority::kBackground);
  gate.Release();
  out_.Wait(21);
  const GroupCommitter::Stats stats = committer.stats();
  EXPECT_EQ(stats.batches, 2);
  EXPECT_EQ(stats.calls, 21);
  EXPECT_EQ(stats.largest_batch, 20);
  std::lock_guard<std::mutex> lock(out_.mu);
  ASSERT_EQ(out_.finished.size(), 21u);
  EXPECT_EQ(out_.finished[0], "w-first:OK");
  // In arrival order, every one committed and visible to another connection
  // by the time it was told.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(out_.finished[i + 1], "w-" + std::to_string(i) + ":OK");
  for (bool visible : out_.visible_at_finish) EXPECT_TRUE(visible);
}

TEST_F(GroupCommitterTest, AFailingCallChangesNothingAndTheOthersInItsBatchCommit) {
  GroupCommitter committer(store_.get());
  Gate gate;
  committer.Submit(Call("w-first", false, [&] { gate.Enter(); }), CallPriority::kBackground);
  gate.WaitEntered();
  committer.Submit(Call("w-a"), CallPriority::kBackground);
  committer.Submit(Call("w-bad", /*fail=*/true), CallPriority::kBackground);
  committer.Submit(Call("w-c"), CallPriority::kBackground);
  gate.Release();
  out_.Wait(4);
  EXPECT_EQ(committer.stats().batches, 2);
  EXPECT_TRUE(store_->GetWorker("w-a").ok());
  EXPECT_EQ(store_->GetWorker("w-bad").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->GetWorker("w-c").ok());
  std::lock_guard<std::mutex> lock(out_.mu);
  EXPECT_EQ(out_.finished,
            (std::vector<std::string>{"w-first:OK", "w-a:OK", "w-bad:OK:own error", "w-c:OK"}));
}

TEST_F(GroupCommitterTest, ATransactionThatFailsReachesEveryCallWithItsError) {
  // A read-only store refuses the batch's write transaction before any call
  // runs; every call still hears, with that error, exactly once.
  auto reader = SqliteTrialStore::OpenReadOnly(db_path_);
  ASSERT_TRUE(reader.ok()) << reader.status();
  {
    GroupCommitter committer(reader->get());
    for (int i = 0; i < 3; ++i) {
      committer.Submit(
          std::make_unique<WorkerCall>(reader->get(), db_path_, "w-" + std::to_string(i), &out_), CallPriority::kBackground);
    }
    out_.Wait(3);
  }
  std::lock_guard<std::mutex> lock(out_.mu);
  EXPECT_EQ(out_.finished, (std::vector<std::string>{"w-0:FAILED_PRECONDITION:not run",
                                                     "w-1:FAILED_PRECONDITION:not run",
                                                     "w-2:FAILED_PRECONDITION:not run"}));
  for (bool visible : out_.visible_at_finish) EXPECT_FALSE(visible);
  // Each says that nothing of it was stored, and why.
  for (const std::string& message : out_.messages) {
    EXPECT_THAT(message, ::testing::StartsWith("not stored: its group commit failed ("));
    EXPECT_THAT(message, ::testing::HasSubstr("read-only"));
  }
}

TEST_F(GroupCommitterTest, DestroyingItRunsAndFinishesEveryQueuedCall) {
  Gate gate;
  {
    GroupCommitter committer(store_.get());
    committer.Submit(Call("w-first", false, [&] { gate.Enter(); }), CallPriority::kBackground);
    gate.WaitEntered();
    for (int i = 0; i < 5; ++i) committer.Submit(Call("w-" + std::to_string(i)), CallPriority::kBackground);
    gate.Release();
  }  // the destructor drains the queue before joining
  std::lock_guard<std::mutex> lock(out_.mu);
  EXPECT_EQ(out_.finished.size(), 6u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(store_->GetWorker("w-" + std::to_string(i)).ok());
}

TEST_F(GroupCommitterTest, AWaitedOnCallOvertakesTheBackgroundCallsQueuedBeforeIt) {
  Gate gate;
  GroupCommitter committer(store_.get());
  committer.Submit(Call("w-first", false, [&] { gate.Enter(); }), CallPriority::kBackground);
  gate.WaitEntered();
  // More background calls than a batch holds, then one a worker waits on.
  const int background = static_cast<int>(GroupCommitter::kMaxBatch) + 8;
  for (int i = 0; i < background; ++i) {
    committer.Submit(Call("w-" + std::to_string(i)), CallPriority::kBackground);
  }
  committer.Submit(Call("w-lease"), CallPriority::kWaitedOn);
  gate.Release();
  out_.Wait(2 + background);
  // The first batch, then the waited-on call at the head of the second; the
  // background calls keep their order around it.
  std::vector<std::string> want = {"w-first:OK", "w-lease:OK"};
  for (int i = 0; i < background; ++i) want.push_back("w-" + std::to_string(i) + ":OK");
  EXPECT_EQ(out_.finished, want);
  EXPECT_EQ(committer.stats().batches, 3);
}

TEST_F(GroupCommitterTest, TheNextBatchRunsWhileThePreviousBatchsRepliesAreSent) {
  // The first call's reply waits until the second call runs. Were replies
  // sent on the committer's thread, the second batch could never start.
  Gate reply;
  std::mutex mu;
  std::condition_variable cv;
  int finished = 0;
  auto count = [&] {
    std::lock_guard<std::mutex> lock(mu);
    ++finished;
    cv.notify_all();
  };
  GroupCommitter committer(store_.get());
  committer.Submit(std::make_unique<ScriptedCall>(nullptr, [&] {
    reply.Enter();
    count();
  }), CallPriority::kBackground);
  reply.WaitEntered();
  committer.Submit(std::make_unique<ScriptedCall>([&] { reply.Release(); }, count), CallPriority::kBackground);
  std::unique_lock<std::mutex> lock(mu);
  const bool both = cv.wait_for(lock, std::chrono::seconds(30), [&] { return finished == 2; });
  lock.unlock();
  reply.Release();  // (lets the destructor finish if the assertion fails)
  ASSERT_TRUE(both) << finished << " of 2 calls finished";
  EXPECT_EQ(committer.stats().batches, 2);
}

}  // namespace group_committer_test
}  // namespace
}  // namespace gridrun::coordinator
