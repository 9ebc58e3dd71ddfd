// WalCheckpointer on real WAL files: the thread checkpoints and the writer
// does not; the writer checkpoints itself past the WAL's bound; nothing
// committed is lost; a SqliteTrialStore on a file checkpoints through it.
#include "coordinator/wal_checkpointer.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "coordinator/sqlite_trial_store.h"
#include "tests/coordinator/trial_store_contract.h"

namespace gridrun::coordinator {
namespace {
namespace wal_checkpointer_test {

using store_test::MakeTestExperiment;
using store_test::ScratchDir;

constexpr int kNever = 1 << 30;

class WalCheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    writer_ =
        std::make_unique<SQLite::Database>(DbPath(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    writer_->execAndGet("PRAGMA journal_mode = WAL");
    writer_->exec("PRAGMA synchronous = NORMAL");
    writer_->exec("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)");
  }

  std::string DbPath() const { return (dir_.path() / "wal.db").string(); }
  std::string WalPath() const { return DbPath() + "-wal"; }

  // `n` transactions of one 2 KB row each: each dirties a page or two.
  void Commit(int n) {
    SQLite::Statement insert(*writer_, "INSERT INTO t (payload) VALUES (zeroblob(2048))");
    for (int i = 0; i < n; ++i) {
      insert.exec();
      insert.reset();
    }
  }

  // Waits (30 s at most) until the checkpointer ran `n` background passes.
  static bool AwaitBackground(const WalCheckpointer& checkpointer, int64_t n) {
    for (int i = 0; i < 3000 && checkpointer.stats().background < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return checkpointer.stats().background >= n;
  }

  ScratchDir dir_;
  std::unique_ptr<SQLite::Database> writer_;
};

TEST_F(WalCheckpointerTest, TheThreadCheckpointsAndTheWriterDoesNot) {
  const auto db_size_before = std::filesystem::file_size(DbPath());
  auto checkpointer = WalCheckpointer::Start(DbPath(), writer_->getHandle(), {20, kNever});
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
  Commit(200);  // ~400 KB
  ASSERT_TRUE(AwaitBackground(**checkpointer, 1));
  // The pages reach the database file itself. Not necessarily by the first
  // pass: a slow writer (a sanitizer build) is checkpointed as it goes, a
  // few frames at a time; but every commit that leaves 20 frames uncopied
  // asks for another pass, so in the end at most 19 are left in the WAL.
  const auto grown = [&] {
    return std::filesystem::file_size(DbPath()) > db_size_before + 100 * 1024;
  };
  for (int i = 0; i < 3000 && !grown(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(grown()) << std::filesystem::file_size(DbPath()) << " bytes, from "
                       << db_size_before;
  const WalCheckpointer::Stats stats = (*checkpointer)->stats();
  EXPECT_EQ(stats.on_writer, 0);
  EXPECT_EQ(stats.failed, 0);
}

TEST_F(WalCheckpointerTest, TheWriterCheckpointsItselfWhenTheWalPassesItsBound) {
  // The thread is never woken: only the bound keeps the WAL from growing.
  auto checkpointer = WalCheckpointer::Start(DbPath(), writer_->getHandle(), {kNever, 50});
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
  Commit(400);  // ~800 KB, ~200 pages: a WAL never restarted would hold 400+ frames
  const WalCheckpointer::Stats stats = (*checkpointer)->stats();
  EXPECT_GE(stats.on_writer, 1);
  EXPECT_EQ(stats.background, 0);
  // The WAL restarts from its beginning after each: its file stays near
  // 50 frames (32-byte header, 24-byte frame headers, 4 KB pages).
  EXPECT_LE(std::filesystem::file_size(WalPath()), 32u + 60u * (24u + 4096u));
}

TEST_F(WalCheckpointerTest, NothingCommittedIsLostWhileTheThreadCheckpoints) {
  {
    auto checkpointer = WalCheckpointer::Start(DbPath(), writer_->getHandle(), {10, kNever});
    ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
    // A reader holding an old snapshot: checkpoints copy around it and the
    // writer never waits for it.
    SQLite::Database reader(DbPath(), SQLite::OPEN_READONLY);
    SQLite::Transaction snapshot(reader);
    EXPECT_EQ(reader.execAndGet("SELECT COUNT(*) FROM t").getInt(), 0);
    Commit(300);
    EXPECT_EQ(reader.execAndGet("SELECT COUNT(*) FROM t").getInt(), 0);
    ASSERT_TRUE(AwaitBackground(**checkpointer, 1));
    EXPECT_EQ((*checkpointer)->stats().failed, 0);
  }
  writer_.reset();
  SQLite::Database db(DbPath(), SQLite::OPEN_READONLY);
  EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM t").getInt(), 300);
  EXPECT_EQ(db.execAndGet("PRAGMA integrity_check").getString(), "ok");
}

TEST(SqliteTrialStoreCheckpointTest, AFileStoreCheckpointsOffItsWritingThread) {
  ScratchDir dir;
  const std::string path = (dir.path() / "gridrun.db").string();
  absl::StatusOr<std::unique_ptr<SqliteTrialStore>> store =
      SqliteTrialStore::Open(path, {5, kNever});
  ASSERT_TRUE(store.ok()) << store.status();
  std::vector<store_test::TestPoint> points;
  for (int i = 0; i < 200; ++i) points.push_back({1.0 + i});
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        (*store)
            ->SubmitExperiment(MakeTestExperiment("grid" + std::to_string(i), points), false, 0)
            .ok());
  }
  for (int i = 0; i < 3000 && (*store)->wal_checkpoint_stats().background < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE((*store)->wal_checkpoint_stats().background, 1);
  EXPECT_EQ((*store)->wal_checkpoint_stats().on_writer, 0);

  absl::StatusOr<std::unique_ptr<SqliteTrialStore>> memory = SqliteTrialStore::Open(":memory:");
  ASSERT_TRUE(memory.ok()) << memory.status();
  EXPECT_EQ((*memory)->wal_checkpoint_stats().background, 0);
}

}  // namespace wal_checkpointer_test
}  // namespace
}  // namespace gridrun::coordinator
