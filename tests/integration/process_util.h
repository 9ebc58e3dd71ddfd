// Test helpers to run real gridrun programs: spawn with captured output, wait
// for a line, signal, reap. Header-only. Every child is killed (SIGKILL) when
// its ChildProcess object is destroyed, so a failing test leaves nothing behind.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
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

  // Sends `signal` to the whole process group.
  void Signal(int signal) {
    if (pid_ > 0 && !exited_) ::kill(-pid_, signal);
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
