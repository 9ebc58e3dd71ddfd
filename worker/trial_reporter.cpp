#include "worker/trial_reporter.h"

#include <spdlog/spdlog.h>

#include "common/clock.h"

namespace gridrun::worker {
namespace {

constexpr size_t kBatchPoints = 100;
constexpr auto kBatchDelay = std::chrono::seconds(1);

}  // namespace

TrialReporter::TrialReporter(WorkerClient* client, LeasedTrial trial,
                             int64_t heartbeat_interval_ms)
    : client_(client),
      trial_(std::move(trial)),
      heartbeat_interval_ms_(heartbeat_interval_ms),
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

void TrialReporter::AddMetric(MetricPoint point) {
  std::lock_guard<std::mutex> lock(mutex_);
  queue_.push_back(std::move(point));
  if (queue_.size() >= kBatchPoints) wake_.notify_all();
}

void TrialReporter::SetProgress(const TrialProgress& progress) {
  std::lock_guard<std::mutex> lock(mutex_);
  progress_ = progress;
}

absl::Status TrialReporter::SendQueued(std::unique_lock<std::mutex>& lock) {
  std::lock_guard<std::mutex> sending(send_mutex_);
  while (!queue_.empty()) {
    if (lease_lost_) return absl::AbortedError("lease lost");
    const size_t n = std::min(queue_.size(), size_t{5000});
    std::vector<MetricPoint> batch(queue_.begin(), queue_.begin() + static_cast<long>(n));
    lock.unlock();
    absl::Status status = client_->ReportMetrics(trial_, batch);
    lock.lock();
    if (status.code() == absl::StatusCode::kAborted) {
      lease_lost_ = true;
      return status;
    }
    if (!status.ok()) return status;  // keep the points; the next try resends them
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(n));
  }
  return absl::OkStatus();
}

absl::Status TrialReporter::Flush() {
  std::unique_lock<std::mutex> lock(mutex_);
  return SendQueued(lock);
}

void TrialReporter::Loop() {
  auto next_heartbeat = std::chrono::steady_clock::now();
  auto next_batch = std::chrono::steady_clock::now() + kBatchDelay;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_ && !lease_lost_) {
    wake_.wait_until(lock, std::min(next_heartbeat, next_batch),
                     [&] { return stop_ || queue_.size() >= kBatchPoints; });
    if (stop_) break;
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_batch || queue_.size() >= kBatchPoints) {
      absl::Status status = SendQueued(lock);
      if (!status.ok() && !lease_lost_) {
        spdlog::warn("trial {}: sending metrics failed: {}", trial_.trial_id, status.ToString());
      }
      next_batch = now + kBatchDelay;
    }
    if (now >= next_heartbeat) {
      const TrialProgress progress = progress_;
      lock.unlock();
      // Retry no longer than the lease can still be renewed.
      auto reply = client_->Heartbeat(trial_, progress);
      lock.lock();
      if (reply.ok()) {
        lease_expires_ms_ = reply->lease_expires_ms;
        if (reply->cancel && !cancel_requested_) {
          spdlog::info("trial {}: the coordinator asks to cancel", trial_.trial_id);
          cancel_requested_ = true;
        }
      } else if (reply.status().code() == absl::StatusCode::kAborted) {
        spdlog::warn("trial {}: lease lost ({})", trial_.trial_id, std::string(reply.status().message()));
        lease_lost_ = true;
      } else if (SystemClock::Get()->NowMs() > lease_expires_ms_) {
        spdlog::error("trial {}: coordinator unreachable past the lease deadline; giving the "
                      "trial up ({})",
                      trial_.trial_id, reply.status().ToString());
        lease_lost_ = true;
      }
      next_heartbeat = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(heartbeat_interval_ms_);
    }
  }
}

}  // namespace gridrun::worker
