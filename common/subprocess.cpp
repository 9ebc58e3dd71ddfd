// Spawns, waits for and signals child processes (posix_spawnp); see
// common/subprocess.h.
#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

extern char** environ;

namespace gridrun {
namespace {

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

absl::Status CannotRun(const std::string& program, int error) {
  const std::string message = absl::StrCat("cannot run '", program, "': ", std::strerror(error));
  if (error == ENOENT) return absl::NotFoundError(message);
  return absl::FailedPreconditionError(message);
}

// Closes a file descriptor when it goes out of scope.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes the descriptor held (if any) and holds `fd` instead.
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

absl::Status MakePipe(Fd* read_end, Fd* write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  read_end->Reset(fds[0]);
  write_end->Reset(fds[1]);
  return absl::OkStatus();
}

// posix_spawn_file_actions_t and posix_spawnattr_t, destroyed on scope exit.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// This process's environment with `overrides` applied, as NAME=value strings.
std::vector<std::string> ChildEnvironment(
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::map<std::string, std::string> values;
  std::vector<std::string> order;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry = *e;
    const size_t eq = entry.find('=');
    const std::string name = entry.substr(0, eq);
    if (values.emplace(name, entry).second) order.push_back(name);
  }
  for (const auto& [name, value] : overrides) {
    if (values.count(name) == 0) order.push_back(name);
    values[name] = absl::StrCat(name, "=", value);
  }
  std::vector<std::string> out;
  out.reserve(order.size());
  for (const std::string& name : order) out.push_back(values[name]);
  return out;
}

// Starts argv with stdin/stdout/stderr taken from `stdio` (-1: inherited).
absl::StatusOr<pid_t> SpawnWithStdio(const std::vector<std::string>& argv,
                                     const SpawnOptions& options, const int stdio[3]) {
  if (argv.empty() || argv[0].empty()) {
    return absl::InvalidArgumentError("cannot run an empty command line");
  }
  SpawnSetup setup;
  for (int target = 0; target < 3; ++target) {
    if (stdio[target] >= 0) {
      posix_spawn_file_actions_adddup2(&setup.actions, stdio[target], target);
    }
  }
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&setup.attr, &empty);
  posix_spawnattr_setsigdefault(&setup.attr, &defaults);
  if (options.new_process_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&setup.attr, 0);
  }
  posix_spawnattr_setflags(&setup.attr, flags);

  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  std::vector<char*> env;
  char** envp = environ;
  if (!options.env.empty()) {
    env_strings = ChildEnvironment(options.env);
    for (std::string& e : env_strings) env.push_back(e.data());
    env.push_back(nullptr);
    envp = env.data();
  }
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, args[0], &setup.actions, &setup.attr, args.data(), envp);
  if (rc != 0) return CannotRun(argv[0], rc);
  return pid;
}

}  // namespace

absl::StatusOr<Subprocess> Subprocess::Spawn(const std::vector<std::string>& argv,
                                             const SpawnOptions& options) {
  Fd output;
  int stdio[3] = {-1, -1, -1};
  if (!options.output_path.empty()) {
    output.Reset(
        ::open(options.output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (output.get() < 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot run '", argv.empty() ? "" : argv[0], "': cannot open its output file ",
          options.output_path, ": ", std::strerror(errno)));
    }
    stdio[1] = stdio[2] = output.get();
  }
  ASSIGN_OR_RETURN(const pid_t pid, SpawnWithStdio(argv, options, stdio));
  return Subprocess(pid, options.new_process_group);
}

Subprocess::Subprocess(Subprocess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      group_leader_(other.group_leader_),
      exit_code_(std::exchange(other.exit_code_, std::nullopt)) {}

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  pid_ = std::exchange(other.pid_, -1);
  group_leader_ = other.group_leader_;
  exit_code_ = std::exchange(other.exit_code_, std::nullopt);
  return *this;
}

absl::StatusOr<std::optional<int>> Subprocess::TryWait() {
  if (exit_code_.has_value()) return exit_code_;
  int status = 0;
  while (true) {
    const pid_t rc = ::waitpid(pid_, &status, WNOHANG);
    if (rc == pid_) {
      exit_code_ = DecodeWaitStatus(status);
      return exit_code_;
    }
    if (rc == 0) return std::nullopt;
    if (errno != EINTR) {
      return absl::InternalError(absl::StrCat("waitpid ", pid_, ": ", std::strerror(errno)));
    }
  }
}

absl::StatusOr<int> Subprocess::Wait() {
  if (exit_code_.has_value()) return *exit_code_;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) {
      return absl::InternalError(absl::StrCat("waitpid ", pid_, ": ", std::strerror(errno)));
    }
  }
  exit_code_ = DecodeWaitStatus(status);
  return *exit_code_;
}

absl::Status Subprocess::Signal(int signal) {
  if (pid_ <= 0 || exit_code_.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("process ", pid_, " has ended; not signalling it"));
  }
  if (::kill(pid_, signal) != 0) {
    return absl::InternalError(absl::StrCat("kill ", pid_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status Subprocess::SignalGroup(int signal) {
  if (!group_leader_) {
    return absl::FailedPreconditionError(
        absl::StrCat("process ", pid_, " does not lead a process group of its own"));
  }
  if (pid_ <= 0 || exit_code_.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("process ", pid_, " has ended; not signalling its group"));
  }
  if (::kill(-pid_, signal) != 0 && errno != ESRCH) {
    return absl::InternalError(absl::StrCat("kill -", pid_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Subprocess::SignalChildren(int signal) {
  if (pid_ <= 0 || exit_code_.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("process ", pid_, " has ended; not signalling its children"));
  }
  int signalled = 0;
  for (const pid_t child : ChildProcesses(pid_)) {
    if (::kill(child, signal) == 0) ++signalled;
  }
  return signalled;
}

absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                         const std::string& input, const SpawnOptions& options) {
  if (!options.output_path.empty()) {
    return absl::InvalidArgumentError("RunProcess captures the output; output_path must be empty");
  }
  Fd in_read, in_write, out_read, out_write, err_read, err_write;
  RETURN_IF_ERROR(MakePipe(&in_read, &in_write));
  RETURN_IF_ERROR(MakePipe(&out_read, &out_write));
  RETURN_IF_ERROR(MakePipe(&err_read, &err_write));
  const int stdio[3] = {in_read.get(), out_write.get(), err_write.get()};
  ASSIGN_OR_RETURN(const pid_t pid, SpawnWithStdio(argv, options, stdio));
  in_read.Reset();
  out_write.Reset();
  err_write.Reset();

  // A reader that quits early must not kill us with SIGPIPE: block it in this
  // thread while feeding stdin, then drop a SIGPIPE that the writes raised.
  sigset_t pipe_set, old_mask, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
  sigpending(&pending);
  const bool pipe_was_pending = sigismember(&pending, SIGPIPE) == 1;

  ProcessResult result;
  size_t written = 0;
  if (input.empty()) in_write.Reset();
  if (in_write.get() >= 0) ::fcntl(in_write.get(), F_SETFL, O_NONBLOCK);
  Fd* sources[2] = {&out_read, &err_read};
  std::string* sinks[2] = {&result.out, &result.err};
  while (in_write.get() >= 0 || out_read.get() >= 0 || err_read.get() >= 0) {
    pollfd p[3] = {{in_write.get(), POLLOUT, 0},
                   {out_read.get(), POLLIN, 0},
                   {err_read.get(), POLLIN, 0}};
    if (::poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (in_write.get() >= 0 && (p[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t n = ::write(in_write.get(), input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
        in_write.Reset();
      }
    }
    for (int i = 0; i < 2; ++i) {
      if (sources[i]->get() < 0 || !(p[i + 1].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[4096];
      const ssize_t n = ::read(sources[i]->get(), buffer, sizeof(buffer));
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        sources[i]->Reset();
      }
    }
  }
  if (!pipe_was_pending) {
    const timespec zero{0, 0};
    while (sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return absl::InternalError(absl::StrCat("waitpid ", pid, ": ", std::strerror(errno)));
    }
  }
  result.exit_code = DecodeWaitStatus(status);
  return result;
}

std::string SiblingProgram(const std::string& name) {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return name;
  return (self.parent_path() / name).string();
}

std::vector<pid_t> ChildProcesses(pid_t parent) {
  std::vector<pid_t> children;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    pid_t pid = 0;
    const auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (error != std::errc() || end != name.data() + name.size()) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;  // the process ended meanwhile
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const size_t close = line.rfind(')');
    if (close == std::string::npos || close + 4 > line.size()) continue;
    const char state = line[close + 2];
    const char* ppid_begin = line.data() + close + 4;
    pid_t ppid = 0;
    std::from_chars(ppid_begin, line.data() + line.size(), ppid);
    if (ppid == parent && state != 'Z' && state != 'X') children.push_back(pid);
  }
  return children;
}

}  // namespace gridrun
