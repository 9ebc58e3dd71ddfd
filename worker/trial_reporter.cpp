#include "worker/trial_reporter.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "common/clock.h"
#include "common/status_macros.h"
#include "proto/gridrun.pb.h"

namespace gridrun::worker {
namespace {

constexpr int kBatchPoints = 100;
constexpr int kMaxPointsPerRequest = 5000;
constexpr auto kBatchDelay = std::chrono::seconds(1);

using Points = google::protobuf::RepeatedPtrField<v1::MetricPoint>;

// Moves the first `count` points of `from` to the end of `to` (the messages
// change owner; nothing is copied).
void MoveFront(Points* from, int count, Points* to) {
  std::vector<v1::MetricPoint*> moved(static_cast<size_t>(count));
  from->ExtractSubrange(0, count, moved.data());
  for (v1::MetricPoint* point : moved) to->AddAllocated(point);
}

}  // namespace

TrialReporter::TrialReporter(WorkerClient* client, LeasedTrial trial, int64_t heartbeat_interval_ms)
    : client_(client),
      trial_(std::move(trial)),
      heartbeat_interval_ms_(heartbeat_interval_ms),
      queue_(std::make_unique<v1::ReportMetricsRequest>()),
      lease_expires_ms_(trial_.lease_expires_ms) {
  thread_ = std::thread([this] { Loop(); });
}

TrialReporter::~TrialReporter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void TrialReporter::AddMetric(const std::string& name, int64_t step, int64_t epoch, double value) {
  const int64_t wall_ms = SystemClock::Get()->NowMs();
  std::lock_guard<std::mutex> lock(mutex_);
  v1::MetricPoint* point = queue_->add_points();
  point->set_name(name);
  point->set_step(step);
  point->set_epoch(epoch);
  point->set_value(value);
  point->set_wall_ms(wall_ms);
  if (queue_->points_size() >= kBatchPoints) wake_.notify_all();
}

void TrialReporter::SetProgress(const TrialProgress& progress) {
  std::lock_guard<std::mutex> lock(mutex_);
  progress_ = progress;
}

// One sender at a time (send_mutex_), taken before mutex_ and never while
// holding it; mutex_ is held only to move points out of or back into the
// queue, so the training thread's AddMetric never waits on the network.
absl::Status TrialReporter::SendQueued(const TrialProgress* progress, HeartbeatReply* beat,
                                       bool* beat_answered) {
  std::lock_guard<std::mutex> sending(send_mutex_);
  return SendQueuedLocked(0, progress, beat, beat_answered);
}

absl::Status TrialReporter::SendQueuedLocked(size_t keep, const TrialProgress* progress,
                                             HeartbeatReply* beat, bool* beat_answered) {
  if (beat_answered != nullptr) *beat_answered = false;
  while (true) {
    if (lease_lost_) return absl::AbortedError("lease lost");
    v1::ReportMetricsRequest request;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (static_cast<size_t>(queue_->points_size()) <= keep) return absl::OkStatus();
      MoveFront(queue_->mutable_points(), std::min(queue_->points_size(), kMaxPointsPerRequest),
                request.mutable_points());
    }
    bool stop = false;
    bool answered = false;
    absl::Status status =
        client_->ReportMetrics(trial_, request, &stop, progress, beat, &answered);
    if (progress != nullptr && beat_answered != nullptr) *beat_answered = answered;
    progress = nullptr;  // the first request only
    if (stop) stop_requested_ = true;
    if (status.code() == absl::StatusCode::kAborted) lease_lost_ = true;
    if (!status.ok()) {
      // Back to the front of the queue, ahead of the points queued since,
      // for the next try.
      std::lock_guard<std::mutex> lock(mutex_);
      Points* queued = queue_->mutable_points();
      MoveFront(queued, queued->size(), request.mutable_points());
      queued->Swap(request.mutable_points());
      return status;
    }
  }
}

absl::Status TrialReporter::Flush() { return SendQueued(); }

absl::Status TrialReporter::TakeLast(v1::ReportMetricsRequest* last, TrialProgress* progress) {
  std::lock_guard<std::mutex> sending(send_mutex_);  // after a batch in flight
  RETURN_IF_ERROR(SendQueuedLocked(kMaxPointsPerRequest, nullptr, nullptr, nullptr));
  if (lease_lost_) return absl::AbortedError("lease lost");
  std::lock_guard<std::mutex> lock(mutex_);
  Points* queued = queue_->mutable_points();
  MoveFront(queued, queued->size(), last->mutable_points());
  *progress = progress_;
  return absl::OkStatus();
}

absl::Status TrialReporter::HeartbeatNow() {
  TrialProgress progress;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    progress = progress_;
  }
  auto reply = client_->Heartbeat(trial_, progress);
  if (!reply.ok()) {
    if (reply.status().code() == absl::StatusCode::kAborted) lease_lost_ = true;
    return reply.status();
  }
  return absl::OkStatus();
}

void TrialReporter::OnHeartbeat(const absl::StatusOr<HeartbeatReply>& reply) {
  if (reply.ok()) {
    lease_expires_ms_ = reply->lease_expires_ms;
    if (reply->cancel && !cancel_requested_) {
      spdlog::info("trial {}: the coordinator asks to cancel", trial_.trial_id);
      cancel_requested_ = true;
    }
    if (reply->stop) stop_requested_ = true;
  } else if (reply.status().code() == absl::StatusCode::kAborted) {
    spdlog::warn("trial {}: lease lost ({})", trial_.trial_id,
                 std::string(reply.status().message()));
    lease_lost_ = true;
  } else if (SystemClock::Get()->NowMs() > lease_expires_ms_) {
    // Past the lease deadline without a renewal: the trial may already be
    // someone else's, so stop rather than report over them.
    spdlog::error("trial {}: coordinator unreachable past the lease deadline; giving the "
                  "trial up ({})",
                  trial_.trial_id, reply.status().ToString());
    lease_lost_ = true;
  }
}

void TrialReporter::Loop() {
  auto next_heartbeat = std::chrono::steady_clock::now();
  auto next_batch = std::chrono::steady_clock::now() + kBatchDelay;
  while (!lease_lost_) {
    TrialProgress progress;
    bool batch_due = false;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait_until(lock, std::min(next_heartbeat, next_batch),
                       [&] { return stop_ || queue_->points_size() >= kBatchPoints; });
      if (stop_) return;
      batch_due =
          std::chrono::steady_clock::now() >= next_batch || queue_->points_size() >= kBatchPoints;
      progress = progress_;
    }
    const bool beat_due = std::chrono::steady_clock::now() >= next_heartbeat;
    if (batch_due && !beat_due) {
      absl::Status status = SendQueued();
      if (!status.ok() && !lease_lost_) {
        spdlog::warn("trial {}: sending metrics failed: {}", trial_.trial_id, status.ToString());
      }
      next_batch = std::chrono::steady_clock::now() + kBatchDelay;
    }
    if (!beat_due) continue;
    // Convention 8a: with points waiting, the heartbeat rides on their
    // batch; a coordinator that does not answer it that way gets a
    // Heartbeat call as before.
    bool has_points = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      has_points = queue_->points_size() > 0;
    }
    HeartbeatReply beat;
    bool answered = false;
    if (has_points) {
      absl::Status sent = SendQueued(&progress, &beat, &answered);
      if (!sent.ok() && !lease_lost_) {
        spdlog::warn("trial {}: sending metrics failed: {}", trial_.trial_id, sent.ToString());
      }
      next_batch = std::chrono::steady_clock::now() + kBatchDelay;
    }
    if (lease_lost_) break;
    OnHeartbeat(answered ? absl::StatusOr<HeartbeatReply>(beat)
                         : client_->Heartbeat(trial_, progress));
    next_heartbeat =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(heartbeat_interval_ms_);
  }
}

}  // namespace gridrun::worker
