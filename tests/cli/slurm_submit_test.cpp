// The Slurm worker script (a pure function), the validation of the job flags,
// and running sbatch (a fake sbatch script stands in for Slurm).
#include "cli/slurm_submit.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/slurm_script.h"

namespace gridrun::cli {
namespace {
namespace slurm_submit_test {

namespace fs = std::filesystem;

SlurmJob GpuJob() {
  SlurmJob job;
  job.experiment_id = "exp-1234";
  job.nodes = 2;
  job.ranks_per_node = 4;
  job.gpus_per_node = 4;
  job.array = 3;
  job.partition = "gpu";
  job.time_limit = "4:00:00";
  job.coordinator = "login1:50051";
  job.worker_binary = "/opt/gridrun/bin/gridrun-worker";
  job.token_file = "/home/me/.gridrun token";
  job.data_dir = "/scratch/data";
  job.output_dir = "/scratch/logs";
  return job;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(SlurmScriptTest, AsksForTheJobShape) {
  const std::string script = SlurmWorkerScript(GpuJob());
  EXPECT_EQ(script.rfind("#!/bin/bash\n", 0), 0u);
  for (const char* line :
       {"#SBATCH --nodes=2\n", "#SBATCH --ntasks-per-node=4\n", "#SBATCH --gpus-per-node=4\n",
        "#SBATCH --cpus-per-task=1\n", "#SBATCH --partition=gpu\n", "#SBATCH --time=4:00:00\n",
        "#SBATCH --array=0-2\n", "#SBATCH --requeue\n", "#SBATCH --signal=B:USR1@120\n",
        "#SBATCH --output=/scratch/logs/gridrun-worker-%A_%a.log\n"}) {
    EXPECT_TRUE(Contains(script, line)) << line << "\n" << script;
  }
  EXPECT_FALSE(Contains(script, "--account")) << script;
}

TEST(SlurmScriptTest, RunsTheWorkerUnderSrunWithOneGpuPerRank) {
  const std::string script = SlurmWorkerScript(GpuJob());
  EXPECT_TRUE(Contains(script,
                       "worker=('/opt/gridrun/bin/gridrun-worker' --coordinator 'login1:50051' "
                       "--exit-when-idle 60 --threads 1 --device cuda --token-file "
                       "'/home/me/.gridrun token' --data-dir '/scratch/data')\n"))
      << script;
  EXPECT_TRUE(Contains(script,
                       "srun --mpi=pmix --kill-on-bad-exit=1 /bin/bash -c \"$bind_gpu\" "
                       "gridrun-rank \"${worker[@]}\" &\n"))
      << script;
  EXPECT_TRUE(Contains(script, "local_rank=${OMPI_COMM_WORLD_LOCAL_RANK:-${SLURM_LOCALID:-0}}"));
}

// Runs the script's GPU-binding snippet as rank `local_rank` of a node whose
// GPUs Slurm listed as `visible`; returns the CUDA_VISIBLE_DEVICES it keeps.
std::string BoundGpu(const std::string& visible, const std::string& rank_variables) {
  const std::string script = SlurmWorkerScript(GpuJob());
  const size_t begin = script.find("bind_gpu='");
  const size_t end = script.find("exec \"$@\"'\n", begin);
  if (begin == std::string::npos || end == std::string::npos) return "no bind_gpu in script";
  const fs::path path = fs::path(testing::TempDir()) / "slurm_bind_gpu.sh";
  std::ofstream(path) << script.substr(begin, end + 11 - begin)
                      << "CUDA_VISIBLE_DEVICES=" << visible << " " << rank_variables
                      << " /bin/bash -c \"$bind_gpu\" rank printenv CUDA_VISIBLE_DEVICES\n";
  FILE* pipe = ::popen(("bash " + path.string()).c_str(), "r");
  char line[64] = {};
  const bool read = std::fgets(line, sizeof(line), pipe) != nullptr;
  ::pclose(pipe);
  fs::remove(path);
  return read ? std::string(line) : "";
}

TEST(SlurmScriptTest, EachLocalRankKeepsItsOwnGpu) {
  EXPECT_EQ(BoundGpu("4,5,6,7", "SLURM_LOCALID=0"), "4\n");
  EXPECT_EQ(BoundGpu("4,5,6,7", "SLURM_LOCALID=2"), "6\n");
  // Under mpirun Slurm's local id is the launcher's; Open MPI's wins.
  EXPECT_EQ(BoundGpu("4,5,6,7", "SLURM_LOCALID=0 OMPI_COMM_WORLD_LOCAL_RANK=3"), "7\n");
  EXPECT_EQ(BoundGpu("GPU-aa,GPU-bb", "SLURM_LOCALID=1"), "GPU-bb\n");  // UUIDs too
}

TEST(SlurmScriptTest, CpuJobsNeitherBindGpusNorAskForThem) {
  SlurmJob job = GpuJob();
  job.gpus_per_node = 0;
  job.partition.clear();
  job.time_limit.clear();
  const std::string script = SlurmWorkerScript(job);
  EXPECT_FALSE(Contains(script, "gpus")) << script;
  EXPECT_FALSE(Contains(script, "--device cuda")) << script;
  EXPECT_FALSE(Contains(script, "--partition")) << script;
  EXPECT_FALSE(Contains(script, "--time")) << script;
  EXPECT_TRUE(Contains(script, "srun --mpi=pmix --kill-on-bad-exit=1 \"${worker[@]}\" &\n"));
}

TEST(SlurmScriptTest, MpirunLauncherPlacesRanksPerNode) {
  SlurmJob job = GpuJob();
  job.launcher = "mpirun";
  const std::string script = SlurmWorkerScript(job);
  EXPECT_TRUE(Contains(script, "mpirun -np \"$SLURM_NTASKS\" --map-by ppr:4:node --bind-to none"))
      << script;
  EXPECT_FALSE(Contains(script, "srun ")) << script;
}

TEST(SlurmScriptTest, TimeLimitSignalStopsTheRanksAndRequeues) {
  const std::string script = SlurmWorkerScript(GpuJob());
  EXPECT_TRUE(Contains(script, "scancel --signal=TERM \"$SLURM_JOB_ID\"' USR1")) << script;
  EXPECT_TRUE(Contains(script, "scontrol requeue \"$SLURM_JOB_ID\"")) << script;
  EXPECT_TRUE(Contains(script, "' TERM\n")) << script;  // the script outlives the ranks
}

TEST(SlurmScriptTest, ExtraSbatchOptionsAreAddedVerbatim) {
  SlurmJob job = GpuJob();
  job.extra_sbatch = {"--qos=high", "--constraint=a100"};
  job.account = "proj7";
  const std::string script = SlurmWorkerScript(job);
  EXPECT_TRUE(Contains(script, "#SBATCH --qos=high\n#SBATCH --constraint=a100\n")) << script;
  EXPECT_TRUE(Contains(script, "#SBATCH --account=proj7\n")) << script;
}

TEST(SlurmScriptTest, ShellQuoteSurvivesQuotes) {
  EXPECT_EQ(ShellQuote("plain"), "'plain'");
  EXPECT_EQ(ShellQuote("it's $HOME"), "'it'\\''s $HOME'");
}

TEST(SlurmScriptTest, ScriptIsValidBash) {
  const fs::path path = fs::path(testing::TempDir()) / "slurm_script_syntax.sh";
  for (const char* launcher : {"srun", "mpirun"}) {
    SlurmJob job = GpuJob();
    job.launcher = launcher;
    std::ofstream(path) << SlurmWorkerScript(job);
    EXPECT_EQ(std::system(("bash -n " + path.string()).c_str()), 0) << launcher;
  }
  fs::remove(path);
}

struct BadCase {
  const char* name;
  void (*change)(SlurmJob&);
  const char* message;
};

TEST(SlurmScriptTest, BadValuesAreNamed) {
  const BadCase cases[] = {
      {"nodes", [](SlurmJob& j) { j.nodes = 0; }, "--nodes 0: must be 1..100000"},
      {"ranks", [](SlurmJob& j) { j.ranks_per_node = -1; }, "--ranks-per-node -1: must be 1.."},
      {"gpus", [](SlurmJob& j) { j.gpus_per_node = -2; }, "--gpus-per-node -2: must be 0.."},
      {"array", [](SlurmJob& j) { j.array = 0; }, "--array 0: must be 1..100000"},
      {"threads", [](SlurmJob& j) { j.threads = 0; }, "--threads 0: must be 1..256"},
      {"gpu per rank", [](SlurmJob& j) { j.ranks_per_node = 8; },
       "--ranks-per-node 8: must be at most --gpus-per-node (4): NCCL needs a GPU per rank"},
      {"time", [](SlurmJob& j) { j.time_limit = "4h"; }, "--time 4h: must be one of Slurm's forms"},
      {"time colons", [](SlurmJob& j) { j.time_limit = "1:2:3:4"; }, "--time 1:2:3:4"},
      {"launcher", [](SlurmJob& j) { j.launcher = "aprun"; }, "--launcher aprun: must be srun or"},
      {"coordinator", [](SlurmJob& j) { j.coordinator = "login1"; },
       "--worker-coordinator login1: must be HOST:PORT"},
      {"port", [](SlurmJob& j) { j.coordinator = "login1:99999"; }, "--worker-coordinator"},
      {"partition", [](SlurmJob& j) { j.partition = "gpu debug"; },
       "--partition gpu debug: must not contain whitespace"},
      {"log dir", [](SlurmJob& j) { j.output_dir = "/a\"b"; }, "--log-dir /a\"b"},
      {"idle", [](SlurmJob& j) { j.exit_when_idle_s = -1; }, "--exit-when-idle -1: must be >= 0"},
      {"sbatch option", [](SlurmJob& j) { j.extra_sbatch = {"qos=high"}; },
       "--sbatch-option qos=high: must be an sbatch option"},
  };
  EXPECT_TRUE(ValidateSlurmJob(GpuJob()).ok());
  for (const BadCase& c : cases) {
    SlurmJob job = GpuJob();
    c.change(job);
    const absl::Status status = ValidateSlurmJob(job);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_TRUE(Contains(std::string(status.message()), c.message))
        << c.name << ": " << status.message();
  }
}

TEST(SlurmScriptTest, SlurmTimeFormsAreAccepted) {
  for (const char* time :
       {"90", "90:30", "4:00:00", "1-12", "1-12:30", "2-00:00:00", "UNLIMITED"}) {
    SlurmJob job = GpuJob();
    job.time_limit = time;
    EXPECT_TRUE(ValidateSlurmJob(job).ok()) << time;
  }
}

TEST(SlurmScriptTest, ParsesSbatchParsableOutput) {
  EXPECT_EQ(*ParseSbatchJobId("4242\n"), "4242");
  EXPECT_EQ(*ParseSbatchJobId("4242;cluster2\n"), "4242");
  EXPECT_FALSE(ParseSbatchJobId("").ok());
  EXPECT_FALSE(ParseSbatchJobId("Submitted batch job 4242\n").ok());
}

// A fake sbatch in a temp dir; tests run it instead of Slurm's.
class SbatchTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) /
           ("sbatch_" + std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    job_ = GpuJob();
    options_.sbatch = (dir_ / "sbatch").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  void FakeSbatch(const std::string& body) {
    std::ofstream(options_.sbatch) << "#!/bin/sh\n" << body;
    ::chmod(options_.sbatch.c_str(), 0755);
  }

  fs::path dir_;
  SlurmJob job_;
  SlurmSubmitOptions options_;
};

TEST_F(SbatchTest, ScriptGoesToSbatchStdinAndTheJobIdToStdout) {
  const std::string received = (dir_ / "received.sh").string();
  FakeSbatch("[ \"$1\" = --parsable ] || exit 9\ncat > " + received + "\necho '777;c1'\n");
  options_.script_copy = (dir_ / "copy.sh").string();
  std::ostringstream out, err;
  ASSERT_EQ(SubmitSlurmJob(job_, options_, out, err), 0) << err.str();
  EXPECT_EQ(out.str(), "777\n");
  EXPECT_TRUE(Contains(err.str(), "submitted Slurm job 777: 3 worker(s) x 2 node(s) x 4 rank(s)"))
      << err.str();
  std::ifstream in(received), copy(options_.script_copy);
  std::stringstream got, copied;
  got << in.rdbuf();
  copied << copy.rdbuf();
  EXPECT_EQ(got.str(), SlurmWorkerScript(job_));
  EXPECT_EQ(copied.str(), got.str());
}

TEST_F(SbatchTest, FailingSbatchShowsItsStderr) {
  FakeSbatch(
      "cat >/dev/null\necho 'sbatch: error: invalid partition specified: gpu' >&2\nexit 1\n");
  std::ostringstream out, err;
  EXPECT_EQ(SubmitSlurmJob(job_, options_, out, err), 1);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str(),
            "gridrun submit --slurm: sbatch failed (exit 1): sbatch: error: invalid partition "
            "specified: gpu\n");
}

TEST_F(SbatchTest, MissingSbatchIsNamed) {
  options_.sbatch = (dir_ / "no-such-sbatch").string();
  std::ostringstream out, err;
  EXPECT_EQ(SubmitSlurmJob(job_, options_, out, err), 1);
  EXPECT_TRUE(Contains(err.str(), "cannot run '" + options_.sbatch +
                                      "': No such file or directory (is Slurm installed here?"))
      << err.str();
}

TEST_F(SbatchTest, OutputWithoutJobIdIsAnError) {
  FakeSbatch("cat >/dev/null\necho 'hello'\n");
  std::ostringstream out, err;
  EXPECT_EQ(SubmitSlurmJob(job_, options_, out, err), 1);
  EXPECT_TRUE(Contains(err.str(), "sbatch printed no job id (expected a number, got 'hello"))
      << err.str();
}

TEST_F(SbatchTest, LoopbackCoordinatorIsWarnedAbout) {
  FakeSbatch("cat >/dev/null\necho 5\n");
  job_.coordinator = "127.0.0.1:50051";
  std::ostringstream out, err;
  EXPECT_EQ(SubmitSlurmJob(job_, options_, out, err), 0);
  EXPECT_TRUE(Contains(err.str(), "warning: workers will reach the coordinator at 127.0.0.1:50051"))
      << err.str();
}

TEST(ResolveSlurmJobTest, DefaultsComeFromTheConnection) {
  SlurmSubmitOptions options;
  options.enabled = true;
  ConnectionOptions connection;
  connection.address = "head:7000";
  connection.token_file = "token.txt";
  auto job = ResolveSlurmJob(options, connection);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->coordinator, "head:7000");
  EXPECT_EQ(job->token_file, (fs::current_path() / "token.txt").string());
  EXPECT_FALSE(job->worker_binary.empty());

  options.job.coordinator = "10.0.0.5:7000";
  options.job.array = 0;
  auto bad = ResolveSlurmJob(options, connection);
  EXPECT_EQ(bad.status().message(), "--array 0: must be 1..100000");
}

}  // namespace slurm_submit_test
}  // namespace
}  // namespace gridrun::cli
