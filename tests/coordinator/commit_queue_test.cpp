// CommitQueue (coordinator/commit_queue.h) on fake calls: waited-on calls
// go first, background calls fill the rest and never starve, each kind in
// arrival order.
#include "coordinator/commit_queue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace gridrun::coordinator {
namespace {
namespace commit_queue_test {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

struct FakeCall {
  std::string name;
};
using Queue = CommitQueue<FakeCall>;
constexpr size_t kFloor = Queue::kBackgroundFloor;

void Push(Queue* q, const std::string& name, CallPriority priority) {
  q->Push(std::make_unique<FakeCall>(FakeCall{name}), priority);
}

// Names of `n` calls "<prefix>0" ... pushed at `priority`.
std::vector<std::string> PushMany(Queue* q, const std::string& prefix, int n,
                                  CallPriority priority) {
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) {
    names.push_back(prefix + std::to_string(i));
    Push(q, names.back(), priority);
  }
  return names;
}

std::vector<std::string> Take(Queue* q, size_t max) {
  std::vector<std::unique_ptr<FakeCall>> batch;
  const size_t n = q->Take(max, &batch);
  EXPECT_EQ(n, batch.size());
  std::vector<std::string> names;
  for (const auto& call : batch) names.push_back(call->name);
  return names;
}

TEST(CommitQueueTest, WaitedOnCallsGoFirstThenBackgroundInArrivalOrder) {
  Queue q;
  Push(&q, "metrics-a", CallPriority::kBackground);
  Push(&q, "lease-a", CallPriority::kWaitedOn);
  Push(&q, "heartbeat-b", CallPriority::kBackground);
  Push(&q, "complete-b", CallPriority::kWaitedOn);
  EXPECT_EQ(q.size(), 4u);
  EXPECT_THAT(Take(&q, 32), ElementsAre("lease-a", "complete-b", "metrics-a", "heartbeat-b"));
  EXPECT_TRUE(q.empty());
}

TEST(CommitQueueTest, AFullBatchLeavesLaterBackgroundCallsNotWaitedOnOnes) {
  Queue q;
  const auto background = PushMany(&q, "metrics-", 40, CallPriority::kBackground);
  const auto waited_on = PushMany(&q, "complete-", 5, CallPriority::kWaitedOn);
  std::vector<std::string> want = waited_on;
  want.insert(want.end(), background.begin(), background.begin() + 27);
  EXPECT_THAT(Take(&q, 32), ElementsAreArray(want));
  EXPECT_EQ(q.size(), 13u);
  // What is left comes next, in order.
  EXPECT_THAT(Take(&q, 32), ElementsAreArray(background.begin() + 27, background.end()));
}

TEST(CommitQueueTest, BackgroundCallsKeepTheirFloorWhenWaitedOnCallsFillTheQueue) {
  Queue q;
  const auto background = PushMany(&q, "heartbeat-", 20, CallPriority::kBackground);
  const auto waited_on = PushMany(&q, "lease-", 100, CallPriority::kWaitedOn);
  // Batch after batch, 32 - kFloor waited-on calls and kFloor background
  // ones, until the background ones are all taken.
  size_t next_background = 0, next_waited_on = 0;
  for (int batch = 0; next_background < background.size(); ++batch) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    const size_t b = std::min(kFloor, background.size() - next_background);
    std::vector<std::string> want(waited_on.begin() + next_waited_on,
                                  waited_on.begin() + next_waited_on + (32 - b));
    want.insert(want.end(), background.begin() + next_background,
                background.begin() + next_background + b);
    EXPECT_THAT(Take(&q, 32), ElementsAreArray(want));
    next_background += b;
    next_waited_on += 32 - b;
  }
  // 20 background calls took ceil(20 / kFloor) batches.
  EXPECT_EQ(next_background, 20u);
  EXPECT_EQ(next_waited_on, 3 * 32 - 20u);
}

TEST(CommitQueueTest, FewerCallsThanABatchAreAllTaken) {
  Queue q;
  EXPECT_TRUE(Take(&q, 32).empty());
  PushMany(&q, "lease-", 3, CallPriority::kWaitedOn);
  PushMany(&q, "metrics-", 2, CallPriority::kBackground);
  EXPECT_THAT(Take(&q, 32), ElementsAre("lease-0", "lease-1", "lease-2", "metrics-0", "metrics-1"));
  PushMany(&q, "lease-", 40, CallPriority::kWaitedOn);  // no background call waits
  EXPECT_EQ(Take(&q, 32).size(), 32u);
  EXPECT_EQ(Take(&q, 32).size(), 8u);
  EXPECT_TRUE(q.empty());
}

}  // namespace commit_queue_test
}  // namespace
}  // namespace gridrun::coordinator
