// Test helpers to run real gridrun programs: spawn with captured output, wait
// for a line, signal, reap. Header-only. Every child is killed (SIGKILL) when
// its ChildProcess object is destroyed, so a failing test leaves nothing behind.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace gridrun::testing {

// Directory holding the built programs (ctest passes GRIDRUN_BUILD_DIR).
inline std::string BuildDir() {
  const char* dir = std::getenv("GRIDRUN_BUILD_DIR");
  return dir != nullptr ? dir : ".";
}

inline std::string SourceDir() {
  const char* dir = std::getenv("GRIDRUN_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

// A free TCP port on 127.0.0.1 (bound and released; fine for tests).
inline int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The children of each process, keyed by parent pid, for every live (not
// zombie) process in /proc.
inline std::map<pid_t, std::vector<pid_t>> ChildrenByParent() {
  std::map<pid_t, std::vector<pid_t>> children;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return children;
  while (dirent* entry = ::readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
    if (pid <= 0) continue;
    std::ifstream stat("/proc/" + std::string(entry->d_name) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // "pid (comm) state ppid ...": comm may hold spaces, so parse after ')'.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %d", &state, &ppid) == 2 && state != 'Z') {
      children[ppid].push_back(pid);
    }
  }
  ::closedir(proc);
  return children;
}

// Pids whose parent is `parent` (the ranks of an mpirun job).
inline std::vector<pid_t> ChildPids(pid_t parent) {
  auto children = ChildrenByParent();
  return children[parent];
}

// Children, grandchildren, ... of `root`, parents before their children.
inline std::vector<pid_t> DescendantPids(pid_t root) {
  auto children = ChildrenByParent();
  std::vector<pid_t> out = children[root];
  for (size_t i = 0; i < out.size(); ++i) {
    const auto& next = children[out[i]];
    out.insert(out.end(), next.begin(), next.end());
  }
  return out;
}

class ChildProcess {
 public:
  // Starts argv[0] (a path, or a name looked up in PATH) with stdout and
  // stderr going to a pipe the test reads.
  explicit ChildProcess(const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);  // own process group: kill() reaches mpirun's children too
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
      ::close(fds[0]);
      ::close(fds[1]);
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_fd_ = fds[0];
    ::fcntl(out_fd_, F_SETFL, O_NONBLOCK);
  }
  ~ChildProcess() {
    Signal(SIGKILL);
    Wait();
    if (out_fd_ >= 0) ::close(out_fd_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Sends `signal` to the whole process group. SIGKILL, SIGSTOP and SIGCONT
  // also go to every descendant: Open MPI starts each rank in a process group
  // of its own and cannot forward these three, so after a group-only SIGKILL
  // the ranks of an mpirun job would train on (and checkpoint) for about a
  // second. SIGTERM is left to mpirun, which forwards it to its ranks.
  void Signal(int signal) {
    if (pid_ <= 0 || exited_) return;
    if (signal == SIGKILL || signal == SIGSTOP || signal == SIGCONT) {
      // Listed before any is signalled: a killed parent's children are
      // re-parented and could not be found afterwards.
      const std::vector<pid_t> descendants = DescendantPids(pid_);
      for (auto it = descendants.rbegin(); it != descendants.rend(); ++it) ::kill(*it, signal);
    }
    ::kill(-pid_, signal);
  }

  // Reaps the child; returns its exit status (128+signal if killed), or -1 on
  // timeout.
  int Wait(std::chrono::milliseconds timeout = std::chrono::minutes(10)) {
    if (pid_ <= 0) return -1;
    if (exited_) return exit_code_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        Drain();
        return exit_code_;
      }
      Drain();
      if (std::chrono::steady_clock::now() > deadline) return -1;
      ::usleep(20'000);
    }
  }

  bool Running() {
    if (exited_) return false;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    }
    return true;
  }

  // Waits until the output contains `text`; false on timeout or exit.
  bool WaitForOutput(const std::string& text,
                     std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      Drain();
      if (output_.find(text) != std::string::npos) return true;
      if (!Running()) {
        Drain();
        return output_.find(text) != std::string::npos;
      }
      pollfd p{out_fd_, POLLIN, 0};
      ::poll(&p, 1, 50);
    }
    return false;
  }

  // Everything the child printed so far.
  const std::string& output() {
    Drain();
    return output_;
  }

 private:
  void Drain() {
    if (out_fd_ < 0) return;
    char buffer[4096];
    while (true) {
      ssize_t n = ::read(out_fd_, buffer, sizeof(buffer));
      if (n <= 0) break;
      output_.append(buffer, static_cast<size_t>(n));
    }
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
  std::string output_;
};

}  // namespace gridrun::testing
