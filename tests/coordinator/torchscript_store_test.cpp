// The coordinator's TorchScript files (coordinator/torchscript_store.h):
// stored once by content, refused over the size limit or when the bytes do
// not match the announced size or hash (nothing stored), and a stored file
// that no longer matches its hash is a clear error, for SubmitGrid's check
// as for a worker's fetch. Schema v8 adds the table to older databases.
#include "coordinator/torchscript_store.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/sha256.h"
#include "coordinator/sqlite_schema.h"
#include "coordinator/sqlite_trial_store.h"
#include "modelspec/model_file.h"

namespace gridrun::coordinator {
namespace {
namespace torchscript_store_test {

class TorchScriptStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("gridrun-ts-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto store = SqliteTrialStore::Open((dir_ / "runs.db").string());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    files_ = std::make_unique<CheckpointFiles>((dir_ / "checkpoints").string());
    ASSERT_TRUE(files_->Init().ok());
    torchscript_ = std::make_unique<TorchScriptStore>(store_.get(), files_.get(), &clock_, 1000);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Uploads `bytes` announced as (sha, size) in chunks of 7 bytes.
  absl::Status Upload(const std::string& bytes, const std::string& sha, int64_t size) {
    auto upload = torchscript_->Begin(sha, size, "net.pt");
    if (!upload.ok()) return upload.status();
    if (*upload == nullptr) return absl::AlreadyExistsError("already stored");
    for (size_t i = 0; i < bytes.size(); i += 7) {
      if (auto s = (*upload)->Append(bytes.substr(i, 7)); !s.ok()) return s;
    }
    return (*upload)->Commit();
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  std::unique_ptr<SqliteTrialStore> store_;
  std::unique_ptr<CheckpointFiles> files_;
  std::unique_ptr<TorchScriptStore> torchscript_;
};

TEST_F(TorchScriptStoreTest, StoresOnceByContentAndReadsBack) {
  const std::string bytes = "a module's bytes, stand-in";
  const std::string sha = Sha256Hex(bytes);
  EXPECT_EQ(torchscript_->CheckStored(sha, "net.pt").code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(Upload(bytes, sha, bytes.size()).ok());
  EXPECT_TRUE(torchscript_->CheckStored(sha, "net.pt").ok());
  EXPECT_EQ(*torchscript_->Read(sha), bytes);
  // The same bytes again: nothing to send.
  EXPECT_EQ(Upload(bytes, sha, bytes.size()).code(), absl::StatusCode::kAlreadyExists);
  auto record = store_->GetTorchScriptFile(sha);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->size_bytes, static_cast<int64_t>(bytes.size()));
  EXPECT_EQ(record->name, "net.pt");
  EXPECT_EQ(record->created_ms, clock_.NowMs());
}

TEST_F(TorchScriptStoreTest, RefusesBadUploadsAndStoresNothing) {
  const std::string bytes = "some bytes";
  const std::string sha = Sha256Hex(bytes);
  EXPECT_EQ(Upload(bytes, sha, 1001).message(),
            "net.pt: 1001 bytes; a TorchScript file may have at most 1000 (coordinator "
            "--max-torchscript-bytes)");
  EXPECT_EQ(Upload(bytes, "abc", bytes.size()).code(), absl::StatusCode::kInvalidArgument);
  const std::string other_sha = Sha256Hex("other bytes");
  const absl::Status wrong_hash = Upload(bytes, other_sha, bytes.size());
  EXPECT_EQ(wrong_hash.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong_hash.message().find("net.pt: TorchScript upload refused:"), std::string::npos)
      << wrong_hash;
  EXPECT_EQ(Upload(bytes, sha, 4).message(),
            "net.pt: more bytes than the header's total_bytes (4)");
  EXPECT_EQ(Upload(bytes, sha, 20).code(), absl::StatusCode::kInvalidArgument);  // too few
  for (const std::string& h : {sha, other_sha}) {
    EXPECT_EQ(store_->GetTorchScriptFile(h).status().code(), absl::StatusCode::kNotFound);
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir_ / "checkpoints")) {
    ADD_FAILURE() << "left behind: " << entry.path();
  }
}

TEST_F(TorchScriptStoreTest, AStoredFileThatNoLongerMatchesIsAClearError) {
  const std::string bytes = "the stored module";
  const std::string sha = Sha256Hex(bytes);
  ASSERT_TRUE(Upload(bytes, sha, bytes.size()).ok());
  const std::string path = store_->GetTorchScriptFile(sha)->path;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << "the stored modulE";
  const std::string expected = "TorchScript file net.pt no longer matches its sha256 " + sha +
                               " on the coordinator (stored file " + path +
                               " is corrupt); submit again to upload it";
  EXPECT_EQ(torchscript_->CheckStored(sha, "net.pt").message(), expected);
  EXPECT_EQ(torchscript_->Read(sha).status().code(), absl::StatusCode::kFailedPrecondition);

  // SubmitGrid's check names the model file.
  const std::string model = modelspec::WithTorchScriptHashes(
      "objective: gan\nsettings: {latent_size: 4}\ngenerator: {torchscript: net.pt}\n"
      "critic: {torchscript: net.pt}\n",
      {{"net.pt", sha}});
  EXPECT_EQ(torchscript_->CheckModelFiles({{"g.yaml", model}}).message(),
            "model file g.yaml: " + expected);

  // Uploading the bytes again repairs it.
  ASSERT_TRUE(Upload(bytes, sha, bytes.size()).ok());
  EXPECT_TRUE(torchscript_->CheckModelFiles({{"g.yaml", model}}).ok());
}

TEST_F(TorchScriptStoreTest, Version7DatabaseGetsTheTable) {
  const std::string path = (dir_ / "old.db").string();
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    std::vector<Migration> up_to_7(SchemaMigrations().begin(), SchemaMigrations().begin() + 7);
    ASSERT_TRUE(ApplyMigrations(db, up_to_7).ok());
    EXPECT_FALSE(db.tableExists("torchscript_files"));
  }
  auto store = SqliteTrialStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->GetTorchScriptFile(std::string(64, 'a')).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE((*store)->AddTorchScriptFile({std::string(64, 'a'), 3, "/x", "n.pt", 1}).ok());
  EXPECT_EQ((*store)->GetTorchScriptFile(std::string(64, 'a'))->path, "/x");
}

}  // namespace torchscript_store_test
}  // namespace
}  // namespace gridrun::coordinator
