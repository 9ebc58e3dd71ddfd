// Starting child programs: the one process spawner every caller uses
// (`gridrun local`'s worker jobs, `gridrun submit --slurm`'s sbatch, the data
// fetcher's tar).
//
// Built on posix_spawnp (argv[0] looked up on PATH; the exec error, e.g.
// "No such file or directory", comes back to the caller instead of being
// printed by a half-started child). Children start with an empty signal mask
// and SIGPIPE at its default. Signals go only to processes this module
// started (by pid, or by the process group a child leads) or to their direct
// children (found by parent pid in /proc): never to processes found by name.
//
// Thread-safety: a Subprocess is a move-only handle for one thread. Spawning
// from several threads at once is safe; RunProcess blocks SIGPIPE only in the
// calling thread while it feeds the child's stdin.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gridrun {

struct SpawnOptions {
  // Where the child's stdout and stderr go: "" inherits this process's;
  // otherwise this file, opened for appending (created 0644 if missing).
  std::string output_path;
  // The child leads a new process group (its pgid is its pid), so a terminal's
  // Ctrl-C does not reach it and SignalGroup can signal everything it starts.
  bool new_process_group = false;
  // Variables set in the child's environment (NAME, value), added to or
  // replacing this process's environment.
  std::vector<std::pair<std::string, std::string>> env;
};

// A started child process. The destructor neither waits nor signals: call
// Wait (or TryWait until it returns a code) to reap it.
class Subprocess {
 public:
  // Starts argv. NOT_FOUND when argv[0] does not exist (on PATH, or at the
  // path given); FAILED_PRECONDITION when it cannot be started otherwise
  // (not executable, output file not writable, ...); INVALID_ARGUMENT for an
  // empty argv. The message reads "cannot run 'PROGRAM': REASON".
  static absl::StatusOr<Subprocess> Spawn(const std::vector<std::string>& argv,
                                          const SpawnOptions& options = {});

  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess() = default;

  pid_t pid() const { return pid_; }
  bool exited() const { return exit_code_.has_value(); }

  // Without blocking: the exit code if the child has ended (reaping it),
  // nullopt while it runs. Exit codes are the program's, or 128+N when a
  // signal N killed it. INTERNAL if waitpid fails.
  absl::StatusOr<std::optional<int>> TryWait();
  // Blocks until the child ends; its exit code as in TryWait.
  absl::StatusOr<int> Wait();

  // Sends `signal` to the child (by pid). FAILED_PRECONDITION once it has
  // been reaped (its pid may belong to another process by then).
  absl::Status Signal(int signal);
  // Sends `signal` to the child's whole process group (-pid); only for a
  // child started with new_process_group. FAILED_PRECONDITION otherwise or
  // once the child was reaped. A group whose processes are all gone is not
  // an error.
  absl::Status SignalGroup(int signal);
  // Sends `signal` to each live direct child of the child (e.g. the ranks
  // mpirun started), by pid, and returns how many were signalled.
  // FAILED_PRECONDITION once the child was reaped.
  absl::StatusOr<int> SignalChildren(int signal);

 private:
  Subprocess(pid_t pid, bool group_leader) : pid_(pid), group_leader_(group_leader) {}

  pid_t pid_ = -1;
  bool group_leader_ = false;
  std::optional<int> exit_code_;
};

// The outcome of a program run to its end.
struct ProcessResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;     // everything it wrote to stdout
  std::string err;     // everything it wrote to stderr
};

// Runs argv with `input` on its stdin (then closed), collects stdout and
// stderr separately (no deadlock on full pipes) and waits for it to end.
// options.output_path must be empty (the output is captured). Errors as
// Subprocess::Spawn.
absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                         const std::string& input = "",
                                         const SpawnOptions& options = {});

// "<directory of this program>/<name>" (found through /proc/self/exe), e.g.
// gridrun-worker installed beside gridrun; just `name` (for a PATH lookup)
// when this program's path cannot be read. Does not check that it exists.
std::string SiblingProgram(const std::string& name);

// The live direct children of `parent` (their parent pid is `parent`), from
// /proc. Zombies are left out. Empty when there are none.
std::vector<pid_t> ChildProcesses(pid_t parent);

}  // namespace gridrun
