#include "coordinator/wal_checkpointer.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace gridrun::coordinator {

absl::StatusOr<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(const std::string& path,
                                                                        sqlite3* writer,
                                                                        const Options& options) {
  std::unique_ptr<SQLite::Database> own;
  try {
    // Used by the checkpointer thread alone. synchronous = NORMAL as the
    // writer's (sqlite_schema.h): a checkpoint syncs the WAL before copying
    // and the database file after.
    own = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX);
    own->exec("PRAGMA synchronous = NORMAL");
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("opening the WAL checkpointer's connection to ", path, ": ", e.what()));
  }
  return std::unique_ptr<WalCheckpointer>(new WalCheckpointer(writer, std::move(own), options));
}

WalCheckpointer::WalCheckpointer(sqlite3* writer, std::unique_ptr<SQLite::Database> own,
                                 const Options& options)
    : writer_(writer), own_(std::move(own)), options_(options) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "gridrun-ckpt");
    Loop();
  });
  sqlite3_wal_hook(writer_, &WalCheckpointer::OnCommit, this);
}

WalCheckpointer::~WalCheckpointer() {
  // Back to SQLite's auto-checkpoint, for whatever the writer still commits.
  sqlite3_wal_autocheckpoint(writer_, options_.background_frames);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

WalCheckpointer::Stats WalCheckpointer::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

int WalCheckpointer::OnCommit(void* self_ptr, sqlite3* db, const char* schema, int frames) {
  auto* self = static_cast<WalCheckpointer*>(self_ptr);
  if (frames >= self->options_.inline_frames) {
    if (self->Checkpoint(db, schema, "writer") >= 0) {
      std::lock_guard<std::mutex> lock(self->mu_);
      ++self->stats_.on_writer;
    }
    return SQLITE_OK;
  }
  const int copied = self->copied_.load(std::memory_order_relaxed);
  // Fewer frames than were copied: the WAL has restarted since.
  const int pending = frames >= copied ? frames - copied : frames;
  if (pending >= self->options_.background_frames) {
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      wake = !self->wanted_;
      self->wanted_ = true;
    }
    if (wake) self->cv_.notify_one();
  }
  return SQLITE_OK;
}

void WalCheckpointer::Loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || wanted_; });
      if (stopping_) return;
      wanted_ = false;
    }
    if (Checkpoint(own_->getHandle(), "main", "background") >= 0) {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.background;
    }
  }
}

int WalCheckpointer::Checkpoint(sqlite3* db, const char* schema, const char* who) {
  int log_frames = 0, copied = 0;
  const int rc =
      sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &copied);
  // BUSY: another checkpoint (the other thread's) is running; it copies.
  if (rc == SQLITE_BUSY) return -1;
  std::lock_guard<std::mutex> lock(mu_);
  if (rc != SQLITE_OK) {
    ++stats_.failed;
    if (!failing_) {
      spdlog::warn("WAL checkpoint ({}) failed: {}; the WAL keeps the pages and it will retry", who,
                   sqlite3_errstr(rc));
    }
    failing_ = true;
    return -1;
  }
  if (failing_) spdlog::info("WAL checkpoint ({}) works again", who);
  failing_ = false;
  copied_.store(copied, std::memory_order_relaxed);
  return copied;
}

}  // namespace gridrun::coordinator
