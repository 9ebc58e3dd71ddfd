// ReaderPool: pooled read-only connections and the change counter.
#include "ui/reader_pool.h"

#include <algorithm>

#include "common/status_macros.h"

namespace gridrun::ui {

absl::StatusOr<std::unique_ptr<ReaderPool>> ReaderPool::Open(const std::string& db_path, int size) {
  std::unique_ptr<ReaderPool> pool(new ReaderPool());
  for (int i = 0; i < std::max(size, 1); ++i) {
    ASSIGN_OR_RETURN(std::unique_ptr<coordinator::ResultsReader> reader,
                     coordinator::ResultsReader::Open(db_path));
    pool->free_.push_back(std::move(reader));
  }
  ASSIGN_OR_RETURN(pool->version_reader_, coordinator::ResultsReader::Open(db_path));
  return pool;
}

ReaderPool::Lease::~Lease() {
  if (reader_) pool_->Return(std::move(reader_));
}

ReaderPool::Lease ReaderPool::Acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  available_.wait(lock, [this] { return !free_.empty(); });
  std::unique_ptr<coordinator::ResultsReader> reader = std::move(free_.back());
  free_.pop_back();
  return Lease(this, std::move(reader));
}

void ReaderPool::Return(std::unique_ptr<coordinator::ResultsReader> reader) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(reader));
  }
  available_.notify_one();
}

absl::StatusOr<int64_t> ReaderPool::ChangeCounter(int64_t now_ms, int64_t min_check_ms) {
  std::lock_guard<std::mutex> lock(version_mutex_);
  if (last_data_version_ >= 0 && now_ms - last_check_ms_ < min_check_ms) return counter_;
  ASSIGN_OR_RETURN(int64_t version, version_reader_->DataVersion());
  last_check_ms_ = now_ms;
  if (version != last_data_version_) {
    if (last_data_version_ >= 0) ++counter_;
    last_data_version_ = version;
  }
  return counter_;
}

}  // namespace gridrun::ui
