// common/subprocess.h: exit codes, captured output and stdin, environment,
// output files, clear errors for programs that cannot start, and signals that
// reach only the processes started (by pid, by their own process group, or
// as a started process's direct children).
#include "common/subprocess.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace gridrun {
namespace {
namespace subprocess_test {

namespace fs = std::filesystem;

// Live (not zombie) according to /proc.
bool Alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z' &&
         line[close + 2] != 'X';
}

// Waits up to 10 s for `parent` to have `n` live children; returns them.
std::vector<pid_t> WaitForChildren(pid_t parent, size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<pid_t> children;
  while (std::chrono::steady_clock::now() < deadline) {
    children = ChildProcesses(parent);
    if (children.size() >= n) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return children;
}

// Waits up to 10 s for every pid to be gone (or a zombie); true if they are.
bool AllGone(const std::vector<pid_t>& pids) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    bool any = false;
    for (pid_t pid : pids) any = any || Alive(pid);
    if (!any) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "subprocess_test-XXXXXX").string();
    path_ = ::mkdtemp(templ.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(SubprocessTest, ExitCodesAndDeathBySignal) {
  for (const auto& [script, code] : std::vector<std::pair<std::string, int>>{
           {"exit 0", 0}, {"exit 3", 3}, {"exit 255", 255}, {"kill -TERM $$", 128 + SIGTERM}}) {
    absl::StatusOr<ProcessResult> run = RunProcess({"sh", "-c", script});
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_EQ(run->exit_code, code) << script;
    absl::StatusOr<Subprocess> child = Subprocess::Spawn({"sh", "-c", script});
    ASSERT_TRUE(child.ok()) << child.status();
    absl::StatusOr<int> waited = child->Wait();
    ASSERT_TRUE(waited.ok());
    EXPECT_EQ(*waited, code) << script;
    EXPECT_TRUE(child->exited());
  }
}

TEST(SubprocessTest, FeedsStdinAndCapturesStdoutAndStderrApart) {
  absl::StatusOr<ProcessResult> run =
      RunProcess({"sh", "-c", "cat; echo to-stderr >&2; echo done"}, "from stdin\n");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 0);
  EXPECT_EQ(run->out, "from stdin\ndone\n");
  EXPECT_EQ(run->err, "to-stderr\n");

  // Megabytes through both directions at once: no deadlock on full pipes.
  const std::string big(4 << 20, 'x');
  run = RunProcess({"sh", "-c", "tee /dev/stderr"}, big);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->out.size(), big.size());
  EXPECT_EQ(run->err.size(), big.size());
}

TEST(SubprocessTest, AReaderThatQuitsEarlyIsNoSigpipe) {
  const std::string big(4 << 20, 'x');
  absl::StatusOr<ProcessResult> run = RunProcess({"sh", "-c", "head -c 10 >/dev/null"}, big);
  ASSERT_TRUE(run.ok()) << run.status();  // still here: SIGPIPE did not kill the test
  EXPECT_EQ(run->exit_code, 0);
  sigset_t pending;
  sigpending(&pending);
  EXPECT_FALSE(sigismember(&pending, SIGPIPE));
}

TEST(SubprocessTest, EnvironmentIsAddedOrReplaced) {
  setenv("GRIDRUN_SUBPROCESS_TEST_KEEP", "kept", 1);
  setenv("GRIDRUN_SUBPROCESS_TEST_SET", "old", 1);
  SpawnOptions options;
  options.env = {{"GRIDRUN_SUBPROCESS_TEST_SET", "new"}, {"GRIDRUN_SUBPROCESS_TEST_ADD", "42"}};
  absl::StatusOr<ProcessResult> run = RunProcess(
      {"sh", "-c",
       "echo $GRIDRUN_SUBPROCESS_TEST_KEEP $GRIDRUN_SUBPROCESS_TEST_SET "
       "$GRIDRUN_SUBPROCESS_TEST_ADD"},
      "", options);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->out, "kept new 42\n");
  unsetenv("GRIDRUN_SUBPROCESS_TEST_KEEP");
  unsetenv("GRIDRUN_SUBPROCESS_TEST_SET");
}

TEST(SubprocessTest, OutputFileIsAppendedTo) {
  TempDir dir;
  SpawnOptions options;
  options.output_path = dir.path() + "/log";
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<Subprocess> child =
        Subprocess::Spawn({"sh", "-c", "echo out; echo err >&2"}, options);
    ASSERT_TRUE(child.ok()) << child.status();
    EXPECT_EQ(*child->Wait(), 0);
  }
  std::ifstream log(options.output_path);
  std::stringstream text;
  text << log.rdbuf();
  EXPECT_EQ(text.str(), "out\nerr\nout\nerr\n");

  options.output_path = dir.path() + "/no/such/dir/log";
  absl::StatusOr<Subprocess> child = Subprocess::Spawn({"true"}, options);
  EXPECT_EQ(child.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(child.status().message(), "cannot run 'true': cannot open its output file " +
                                          options.output_path + ": No such file or directory");
  EXPECT_EQ(RunProcess({"true"}, "", options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SubprocessTest, AProgramThatCannotStartIsAClearError) {
  absl::StatusOr<Subprocess> missing = Subprocess::Spawn({"/nonexistent/gridrun-prog", "x"});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "cannot run '/nonexistent/gridrun-prog': No such file or directory");
  absl::StatusOr<ProcessResult> not_on_path = RunProcess({"gridrun-no-such-program-on-path"});
  EXPECT_EQ(not_on_path.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(not_on_path.status().message(),
            "cannot run 'gridrun-no-such-program-on-path': No such file or directory");

  TempDir dir;
  const std::string not_executable = dir.path() + "/script.sh";
  std::ofstream(not_executable) << "#!/bin/sh\nexit 0\n";
  ::chmod(not_executable.c_str(), 0644);
  EXPECT_EQ(RunProcess({not_executable}).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(RunProcess({not_executable}).status().message(),
            "cannot run '" + not_executable + "': Permission denied");
  EXPECT_EQ(Subprocess::Spawn({}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SubprocessTest, TryWaitSignalAndNoSignalAfterReaping) {
  absl::StatusOr<Subprocess> child = Subprocess::Spawn({"sleep", "30"});
  ASSERT_TRUE(child.ok()) << child.status();
  absl::StatusOr<std::optional<int>> running = child->TryWait();
  ASSERT_TRUE(running.ok());
  EXPECT_FALSE(running->has_value());
  ASSERT_TRUE(child->Signal(SIGTERM).ok());
  EXPECT_EQ(*child->Wait(), 128 + SIGTERM);
  EXPECT_EQ(**child->TryWait(), 128 + SIGTERM);
  // Reaped: its pid may be someone else's now, so nothing is sent.
  EXPECT_EQ(child->Signal(SIGTERM).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(child->SignalChildren(SIGTERM).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(SubprocessTest, SignalGroupReachesTheWholeGroupItLeads) {
  SpawnOptions options;
  options.new_process_group = true;
  absl::StatusOr<Subprocess> child =
      Subprocess::Spawn({"sh", "-c", "sleep 30 & sleep 30 & wait"}, options);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ(::getpgid(child->pid()), child->pid());
  EXPECT_NE(::getpgid(0), child->pid());
  const std::vector<pid_t> sleepers = WaitForChildren(child->pid(), 2);
  ASSERT_EQ(sleepers.size(), 2u);
  ASSERT_TRUE(child->SignalGroup(SIGKILL).ok());
  EXPECT_EQ(*child->Wait(), 128 + SIGKILL);
  EXPECT_TRUE(AllGone(sleepers));
  EXPECT_EQ(child->SignalGroup(SIGKILL).code(), absl::StatusCode::kFailedPrecondition);

  absl::StatusOr<Subprocess> plain = Subprocess::Spawn({"sleep", "30"});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(::getpgid(plain->pid()), ::getpgid(0));
  EXPECT_EQ(plain->SignalGroup(SIGTERM).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(plain->Signal(SIGKILL).ok());
  EXPECT_EQ(*plain->Wait(), 128 + SIGKILL);
}

TEST(SubprocessTest, SignalChildrenReachesOnlyTheDirectChildren) {
  absl::StatusOr<Subprocess> child =
      Subprocess::Spawn({"sh", "-c", "sleep 30 & sleep 30 & wait; echo waited"});
  ASSERT_TRUE(child.ok()) << child.status();
  const std::vector<pid_t> sleepers = WaitForChildren(child->pid(), 2);
  ASSERT_EQ(sleepers.size(), 2u);
  absl::StatusOr<int> signalled = child->SignalChildren(SIGTERM);
  ASSERT_TRUE(signalled.ok()) << signalled.status();
  EXPECT_EQ(*signalled, 2);
  // The shell itself was not signalled: its `wait` returns and it exits 0.
  EXPECT_EQ(*child->Wait(), 0);
  EXPECT_TRUE(AllGone(sleepers));
}

TEST(SubprocessTest, ChildProcessesListsLiveChildrenOnly) {
  absl::StatusOr<Subprocess> child = Subprocess::Spawn({"sleep", "30"});
  ASSERT_TRUE(child.ok());
  std::vector<pid_t> mine = ChildProcesses(::getpid());
  EXPECT_NE(std::find(mine.begin(), mine.end(), child->pid()), mine.end());
  ASSERT_TRUE(child->Signal(SIGKILL).ok());
  // Dead but not yet reaped (a zombie): no longer listed.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Alive(child->pid()) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  mine = ChildProcesses(::getpid());
  EXPECT_EQ(std::find(mine.begin(), mine.end(), child->pid()), mine.end());
  EXPECT_EQ(*child->Wait(), 128 + SIGKILL);
}

}  // namespace subprocess_test
}  // namespace
}  // namespace gridrun
