// `gridrun local` ends only the processes it started, by pid: on Ctrl-C it
// sends SIGTERM to its worker (or to the ranks its mpirun started), while a
// decoy running the very same program, started by someone else, is left
// alone. The workers are a shell script given with --worker-binary, so no
// LibTorch build is needed.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "tests/integration/process_util.h"
#include "tests/models/fake_data.h"

namespace gridrun::testing {
namespace {
namespace local_command_signal_test {

using fake_data::ReadFileBytes;
using fake_data::ScopedTempDir;

// A stand-in for gridrun-worker: notes "started PID" and, on SIGTERM,
// "term PID" in `marker`, then exits 0.
std::string WriteFakeWorker(const std::string& dir, const std::string& marker) {
  const std::string path = dir + "/gridrun-worker";
  std::ofstream(path) << "#!/bin/sh\n"
                      << "echo started $$ >> '" << marker << "'\n"
                      << "trap 'echo term $$ >> \"" << marker << "\"; exit 0' TERM\n"
                      << "while :; do sleep 0.05; done\n";
  ::chmod(path.c_str(), 0755);
  return path;
}

int CountLines(const std::string& path, const std::string& prefix) {
  std::istringstream in(ReadFileBytes(path));
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.rfind(prefix, 0) == 0 ? 1 : 0;
  return n;
}

bool WaitForLines(const std::string& path, const std::string& prefix, int n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (CountLines(path, prefix) >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void RunAndInterrupt(int ranks) {
  ScopedTempDir dir;
  const std::string marker = dir.path() + "/marker";
  const std::string decoy_marker = dir.path() + "/decoy-marker";
  std::ofstream(marker).close();
  std::ofstream(decoy_marker).close();
  const std::string worker = WriteFakeWorker(dir.path(), marker);
  std::filesystem::create_directories(dir.path() + "/decoy");
  const std::string decoy_program = WriteFakeWorker(dir.path() + "/decoy", decoy_marker);
  const std::string spec = dir.path() + "/grid.yaml";
  std::ofstream(spec) << "experiment: local-signals\n"
                         "dataset: mnist\n"
                         "model: vae-mlp\n"
                         "epochs: 1\n"
                         "ranks: "
                      << ranks << "\n";

  ChildProcess decoy({decoy_program});  // same program name, not gridrun's child
  ASSERT_TRUE(WaitForLines(decoy_marker, "started", 1));

  ChildProcess local({BuildDir() + "/gridrun", "local", spec, "--db", dir.path() + "/runs.db",
                      "--workers", "1", "--worker-binary", worker});
  ASSERT_TRUE(WaitForLines(marker, "started", ranks)) << local.output();
  ::kill(local.pid(), SIGINT);  // gridrun alone, as a terminal's Ctrl-C would
  EXPECT_EQ(local.Wait(std::chrono::seconds(60)), 130) << local.output();
  EXPECT_EQ(CountLines(marker, "term"), ranks) << ReadFileBytes(marker) << local.output();
  EXPECT_NE(local.output().find("interrupted: running trials were checkpointed"),
            std::string::npos)
      << local.output();

  EXPECT_TRUE(decoy.Running());
  EXPECT_EQ(CountLines(decoy_marker, "term"), 0) << ReadFileBytes(decoy_marker);
}

TEST(LocalCommandSignalTest, CtrlCStopsItsOwnWorkerOnly) { RunAndInterrupt(/*ranks=*/1); }

TEST(LocalCommandSignalTest, CtrlCStopsTheRanksOfItsOwnMpirunOnly) {
  if (std::system("command -v mpirun >/dev/null 2>&1") != 0) GTEST_SKIP() << "no mpirun";
  RunAndInterrupt(/*ranks=*/2);
}

}  // namespace local_command_signal_test
}  // namespace
}  // namespace gridrun::testing
