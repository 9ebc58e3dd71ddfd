// Storage faults:
//  * the database and checkpoints on a full file system (a small tmpfs the
//    test mounts; skipped where mount is not permitted): clients get a clear
//    error naming the full disk, nothing is corrupted, and the coordinator
//    carries on once space returns;
//  * a truncated checkpoint on disk, through the real worker's restart
//    path: the next worker resumes from the previous checkpoint, or from
//    scratch when none is intact, and never loads garbage.
// (A newer schema version is refused in tests/coordinator:
// SqliteTrialStoreFileTest.ANewerSchemaIsRefused.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <filesystem>

#include "common/sha256.h"
#include "tests/models/fake_data.h"
#include "tests/reliability/reliability_util.h"

namespace gridrun::testing {
namespace {
namespace storage_faults_test {

namespace fs = std::filesystem;
using coordinator::TrialState;
using ::testing::HasSubstr;

// ---- full file system ----------------------------------------------------------

class FullFilesystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mount_ = dir_.path() + "/small";
    fs::create_directories(mount_);
    if (::mount("tmpfs", mount_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=8m") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs at " << mount_ << " (" << std::strerror(errno)
                   << "): this test needs root with CAP_SYS_ADMIN";
    }
    mounted_ = true;
  }
  void TearDown() override {
    coordinator_.reset();
    if (mounted_) ::umount2(mount_.c_str(), MNT_DETACH);
  }

  // Fills the file system up: a file of zeros until ENOSPC.
  void Fill() {
    std::ofstream filler(mount_ + "/filler", std::ios::binary);
    const std::string block(64 << 10, '\0');
    while (filler.write(block.data(), block.size())) {
    }
    filler.close();
    std::ofstream small(mount_ + "/filler2", std::ios::binary);
    while (small.write("x", 1) && small.flush()) {
    }
  }
  void Free() {
    fs::remove(mount_ + "/filler");
    fs::remove(mount_ + "/filler2");
  }

  grpc::ClientContext* Ctx() {
    context_ = std::make_unique<grpc::ClientContext>();
    PrepareContext(context_.get(), client_, std::chrono::seconds(10));
    return context_.get();
  }

  grpc::Status Metrics(const v1::TrialLease& lease, int64_t step) {
    v1::ReportMetricsRequest r;
    r.set_worker_id(worker_id_);
    r.set_trial_id(lease.trial_id());
    r.set_attempt(lease.attempt());
    // Wide rows so each batch needs fresh pages.
    for (int i = 0; i < 200; ++i) {
      auto* p = r.add_points();
      p->set_name("metric_with_a_long_name_" + std::to_string(i));
      p->set_step(step);
      p->set_value(step + i);
    }
    v1::ReportMetricsResponse out;
    return stub_->ReportMetrics(Ctx(), r, &out);
  }

  grpc::Status Checkpoint(const v1::TrialLease& lease, int64_t step, const std::string& bytes) {
    v1::SaveCheckpointResponse out;
    auto writer = stub_->SaveCheckpoint(Ctx(), &out);
    v1::CheckpointChunk chunk;
    auto* h = chunk.mutable_header();
    h->set_worker_id(worker_id_);
    h->set_trial_id(lease.trial_id());
    h->set_attempt(lease.attempt());
    h->set_step(step);
    h->set_sha256(Sha256Hex(bytes));
    h->set_total_bytes(static_cast<int64_t>(bytes.size()));
    chunk.set_data(bytes);
    writer->Write(chunk);
    writer->WritesDone();
    return writer->Finish();
  }

  TempDir dir_;
  std::string mount_;
  bool mounted_ = false;
  std::unique_ptr<CoordinatorProcess> coordinator_;
  ClientOptions client_;
  std::unique_ptr<v1::WorkerService::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::string worker_id_;
};

TEST_F(FullFilesystemTest, ClearErrorsNoCorruptionAndRecoveryWhenSpaceReturns) {
  const std::string db = mount_ + "/grid.db";
  coordinator_ = std::make_unique<CoordinatorProcess>(db, FreePort());
  ASSERT_TRUE(coordinator_->Start()) << coordinator_->log();
  client_.address = coordinator_->address();
  stub_ = v1::WorkerService::NewStub(CreateCoordinatorChannel(client_));
  const std::string experiment = SubmitSpec(client_.address, SmallSpec("full-disk"));
  v1::RegisterWorkerRequest reg;
  reg.set_host("h");
  reg.set_ranks(1);
  reg.set_device("cpu");
  v1::RegisterWorkerResponse registered;
  ASSERT_TRUE(stub_->RegisterWorker(Ctx(), reg, &registered).ok());
  worker_id_ = registered.worker_id();
  v1::LeaseTrialRequest lease_request;
  lease_request.set_worker_id(worker_id_);
  v1::LeaseTrialResponse leased;
  ASSERT_TRUE(stub_->LeaseTrial(Ctx(), lease_request, &leased).ok());
  ASSERT_TRUE(leased.has_lease());
  const v1::TrialLease lease = leased.lease();
  ASSERT_TRUE(Metrics(lease, 1).ok());

  Fill();
  // Metrics: some batch must hit the full disk; the error says so.
  grpc::Status full;
  int64_t step = 2;
  for (; step < 200 && full.ok(); ++step) full = Metrics(lease, step);
  ASSERT_FALSE(full.ok()) << "200 metric batches fit on a full file system?";
  const int64_t failed_step = step - 1;
  EXPECT_EQ(full.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << full.error_message();
  EXPECT_THAT(full.error_message(), HasSubstr("full")) << full.error_message();
  // Group commit: the worker is told that none of its call was kept.
  EXPECT_THAT(full.error_message(), HasSubstr("not stored")) << full.error_message();
  // A checkpoint upload fails clearly and leaves no partial file.
  const std::string blob(1 << 20, 'c');
  grpc::Status ckpt = Checkpoint(lease, 10, blob);
  EXPECT_EQ(ckpt.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << ckpt.error_message();
  EXPECT_THAT(ckpt.error_message(), HasSubstr("No space left on device"));
  // New grids fail clearly too.
  {
    auto grid = v1::GridService::NewStub(CreateCoordinatorChannel(client_));
    v1::SubmitGridRequest r;
    r.set_spec_yaml(SmallSpec("another-big-grid"));
    v1::SubmitGridResponse out;
    grpc::Status submitted = grid->SubmitGrid(Ctx(), r, &out);
    if (!submitted.ok()) {
      EXPECT_EQ(submitted.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
          << submitted.error_message();
    }
  }

  // Space returns: the same coordinator carries on; the failed batch and the
  // checkpoint go through on retry, the trial completes.
  Free();
  ASSERT_TRUE(Metrics(lease, failed_step).ok());
  ASSERT_TRUE(Metrics(lease, failed_step + 1).ok());
  grpc::Status retried = Checkpoint(lease, 10, blob);
  ASSERT_TRUE(retried.ok()) << retried.error_message();
  v1::CompleteTrialRequest complete;
  complete.set_worker_id(worker_id_);
  complete.set_trial_id(lease.trial_id());
  complete.set_attempt(lease.attempt());
  v1::CompleteTrialResponse completed;
  grpc::Status done = stub_->CompleteTrial(Ctx(), complete, &completed);
  ASSERT_TRUE(done.ok()) << done.error_message();
  EXPECT_EQ(coordinator_->Stop(), 0) << coordinator_->log();

  // Nothing is corrupt; every acknowledged batch is there, and only those
  // (the failed batch was rolled back whole and then stored by the retry).
  SQLite::Database raw(db, SQLite::OPEN_READONLY);
  EXPECT_EQ(raw.execAndGet("PRAGMA integrity_check").getString(), "ok");
  const int64_t rows = raw.execAndGet("SELECT count(*) FROM metrics").getInt64();
  EXPECT_EQ(rows, 200 * (failed_step + 1));
  for (int64_t s = 1; s <= failed_step + 1; ++s) {
    SQLite::Statement q(raw, "SELECT count(*) FROM metrics WHERE step = ?");
    q.bind(1, s);
    ASSERT_TRUE(q.executeStep());
    EXPECT_EQ(q.getColumn(0).getInt64(), 200) << "step " << s;
  }
  EXPECT_EQ(raw.execAndGet("SELECT count(*) FROM checkpoints").getInt64(), 1);
  for (const auto& t : ReadTrials(db, experiment)) {
    if (t.trial_id == lease.trial_id()) EXPECT_EQ(t.state, TrialState::kComplete);
  }
  // No temporary checkpoint file is left behind.
  int files = 0;
  for (const auto& entry : fs::directory_iterator(db + ".checkpoints")) {
    ++files;
    EXPECT_EQ(entry.path().filename().string().find("tmp"), std::string::npos) << entry.path();
  }
  EXPECT_EQ(files, 1);
}

// ---- truncated checkpoints through the worker's restart path ------------------

class TruncatedCheckpointTest : public ::testing::Test {
 protected:
  static constexpr int kImages = 512;
  static constexpr int kBatch = 32;
  // Long enough that the first job cannot finish before the kill loop sees
  // its second checkpoint, even on an idle machine (an epoch takes ~25 ms
  // there, a poll ~55 ms).
  static constexpr int kEpochs = 100;
  static constexpr int64_t kSteps = (kImages / kBatch) * kEpochs;

  void SetUp() override {
    fake_data::WriteFakeMnist(dir_.path() + "/data", kImages, /*n_test=*/64, /*seed=*/3);
    coordinator_ = std::make_unique<CoordinatorProcess>(
        db_, FreePort(), std::vector<std::string>{"--lease-timeout", "2s"});
    ASSERT_TRUE(coordinator_->Start()) << coordinator_->log();
    experiment_ = SubmitSpec(coordinator_->address(),
                             "experiment: truncated\ndataset: mnist\nmodel: vae-mlp\nwidth: 64\n"
                             "latent_size: 4\nepochs: " + std::to_string(kEpochs) +
                                 "\nbatch_size: 32\nranks: 2\neval_samples: 0\n"
                                 "samples: {epochs: [1], count: 16}\n");
  }

  std::unique_ptr<ChildProcess> Worker() {
    return StartWorkerJob(coordinator_->address(), dir_.path() + "/data", 2, /*idle=*/3);
  }

  // Waits for the trial's two kept checkpoints, then kills the job (-9).
  // Returns them, newest first.
  std::vector<coordinator::CheckpointRecord> KillAfterTwoCheckpoints(ChildProcess& job) {
    for (int i = 0; i < 1200; ++i) {
      auto store = coordinator::SqliteTrialStore::OpenReadOnly(db_);
      auto trials = ReadTrials(db_, experiment_);
      if (store.ok() && trials.size() == 1) {
        auto checkpoints = (*store)->ListCheckpoints(trials[0].trial_id);
        if (checkpoints.ok() && checkpoints->size() >= 2) {
          job.Signal(SIGKILL);  // mpirun and both ranks, at once
          job.Wait();
          // An upload sent just before the kill may still be committing.
          std::this_thread::sleep_for(std::chrono::seconds(1));
          return *(*store)->ListCheckpoints(trials[0].trial_id);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "no two checkpoints within 60 s: " << job.output();
    return {};
  }

  static void Truncate(const std::string& path) {
    const auto size = fs::file_size(path);
    fs::resize_file(path, size / 2);
  }

  void FinishAndCheck(ChildProcess& job) {
    for (int i = 0; i < 1800; ++i) {
      auto trials = ReadTrials(db_, experiment_);
      if (trials.size() == 1 && trials[0].state != TrialState::kRunning &&
          trials[0].state != TrialState::kWaiting) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(job.Wait(std::chrono::seconds(60)), 0) << job.output();
    EXPECT_EQ(coordinator_->Stop(), 0);
    for (const std::string& p : CheckGridInvariants(db_, experiment_, {1, kSteps, 1, 3})) {
      ADD_FAILURE() << p << "\n" << job.output();
    }
  }

  TempDir dir_;
  std::string db_ = dir_.path() + "/grid.db";
  std::unique_ptr<CoordinatorProcess> coordinator_;
  std::string experiment_;
};

TEST_F(TruncatedCheckpointTest, NewestTruncatedResumesFromThePreviousOne) {
  auto first = Worker();
  auto checkpoints = KillAfterTwoCheckpoints(*first);
  ASSERT_GE(checkpoints.size(), 2u);
  Truncate(checkpoints[0].path);
  auto second = Worker();
  ASSERT_TRUE(second->WaitForOutput("trial resumes at epoch", std::chrono::seconds(60)))
      << second->output() << coordinator_->log();
  EXPECT_THAT(second->output(),
              HasSubstr("resumes at epoch " + std::to_string(checkpoints[1].epoch) +
                        " batch 0 (step " + std::to_string(checkpoints[1].step) + ")"));
  FinishAndCheck(*second);
  EXPECT_THAT(coordinator_->log(), HasSubstr("falling back to an older checkpoint"));
}

TEST_F(TruncatedCheckpointTest, EveryCheckpointTruncatedRestartsFromScratch) {
  auto first = Worker();
  auto checkpoints = KillAfterTwoCheckpoints(*first);
  ASSERT_GE(checkpoints.size(), 2u);
  for (const auto& c : checkpoints) Truncate(c.path);
  auto second = Worker();
  FinishAndCheck(*second);
  EXPECT_THAT(second->output(), HasSubstr("starting from scratch"));
  EXPECT_THAT(second->output(), ::testing::Not(HasSubstr("resumes at epoch")));
}

}  // namespace storage_faults_test
}  // namespace
}  // namespace gridrun::testing
