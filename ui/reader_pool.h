// ReaderPool: a fixed number of read-only ResultsReader connections shared by
// the HTTP server's threads. Its size bounds how many dashboard reads run
// against the database at once, however many viewers there are (the rest
// wait their turn), so viewers cannot starve the coordinator of I/O.
//
// Also owns the change detector behind /api/version: a dedicated
// connection's PRAGMA data_version, checked at most every `min_check_ms`,
// turned into a counter that only grows.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/results_reader.h"

namespace gridrun::ui {

class ReaderPool {
 public:
  // Opens `size` (>= 1) readers of `db_path` plus the version connection.
  // Errors as coordinator::ResultsReader::Open.
  static absl::StatusOr<std::unique_ptr<ReaderPool>> Open(const std::string& db_path, int size);

  // A reader held until the Lease is destroyed.
  class Lease {
   public:
    Lease(ReaderPool* pool, std::unique_ptr<coordinator::ResultsReader> reader)
        : pool_(pool), reader_(std::move(reader)) {}
    Lease(Lease&&) = default;
    ~Lease();
    coordinator::ResultsReader* operator->() { return reader_.get(); }

   private:
    ReaderPool* pool_;
    std::unique_ptr<coordinator::ResultsReader> reader_;
  };

  // Blocks until a reader is free.
  Lease Acquire();

  // A number that grows when the database changed since the last check
  // (checks are at least `min_check_ms` apart; calls in between return the
  // last value). Errors as ResultsReader::DataVersion.
  absl::StatusOr<int64_t> ChangeCounter(int64_t now_ms, int64_t min_check_ms = 250);

 private:
  ReaderPool() = default;
  void Return(std::unique_ptr<coordinator::ResultsReader> reader);

  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<coordinator::ResultsReader>> free_;

  std::mutex version_mutex_;
  std::unique_ptr<coordinator::ResultsReader> version_reader_;
  int64_t last_data_version_ = -1;
  int64_t counter_ = 0;
  int64_t last_check_ms_ = 0;
};

}  // namespace gridrun::ui
