// Test helpers that stand up real cluster machinery on one machine (recipes in
// docs/cluster.md, "Trying it on one machine"):
//   - SlurmCluster: munged + slurmctld + slurmd in a temp dir, private ports;
//   - NetnsHosts: two "hosts" made of network namespaces on a bridge
//     (10.200.0.1, 10.200.0.2; the root namespace is 10.200.0.254);
//   - OrphanReaper: makes the test process a child subreaper, so processes
//     that daemons double-fork (slurmstepd, the job's ranks) stay our
//     descendants and are killed by PID at the end, whatever happened.
// Every guard undoes what it made in its destructor, also when a test fails.
// Header-only. Not thread-safe; one cluster per test process.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/process_util.h"

namespace gridrun::testing {

// Runs `command` with /bin/sh; returns its exit status and (merged) output.
inline int Shell(const std::string& command, std::string* output = nullptr) {
  std::string text;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) text.append(buffer, n);
  const int status = ::pclose(pipe);
  if (output != nullptr) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Waits (up to `timeout`) until the file at `path` contains `text`.
inline bool WaitForText(const std::string& path, const std::string& text,
                        std::chrono::seconds timeout = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ReadFile(path).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

inline std::string ShortHostName() {
  char name[256] = {};
  ::gethostname(name, sizeof(name) - 1);
  std::string host = name;
  return host.substr(0, host.find('.'));
}

// All live descendants of this process, by walking /proc's parent links.
inline std::vector<pid_t> Descendants() {
  std::map<pid_t, std::vector<pid_t>> children;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = ReadFile(entry.path() / "stat");
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream fields(stat.substr(paren + 2));
    char state;
    pid_t ppid;
    if (fields >> state >> ppid) children[ppid].push_back(std::stoi(name));
  }
  std::vector<pid_t> out, todo = {::getpid()};
  while (!todo.empty()) {
    const pid_t p = todo.back();
    todo.pop_back();
    for (pid_t c : children[p]) {
      out.push_back(c);
      todo.push_back(c);
    }
  }
  return out;
}

// Makes this process the reaper of its orphaned descendants; on destruction
// SIGKILLs every descendant still alive (by PID) and reaps them.
class OrphanReaper {
 public:
  OrphanReaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }
  ~OrphanReaper() { KillAll(); }
  OrphanReaper(const OrphanReaper&) = delete;
  OrphanReaper& operator=(const OrphanReaper&) = delete;

  static void KillAll() {
    for (int round = 0; round < 5; ++round) {
      const std::vector<pid_t> pids = Descendants();
      if (pids.empty()) break;
      for (pid_t p : pids) ::kill(p, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      while (::waitpid(-1, nullptr, WNOHANG) > 0) {
      }
    }
  }
};

// A daemon started in the foreground, its output appended to `log` (a file:
// nothing has to drain it). SIGTERM at the end, SIGKILL after 5 s.
class Daemon {
 public:
  explicit Daemon(const std::vector<std::string>& argv, const std::string& log = "")
      : process_(log.empty() ? argv : ToShell(argv, log)) {}
  ~Daemon() {
    process_.Signal(SIGTERM);
    process_.Wait(std::chrono::seconds(5));
  }
  ChildProcess& process() { return process_; }

 private:
  static std::vector<std::string> ToShell(const std::vector<std::string>& argv,
                                          const std::string& log) {
    std::string command = "exec";
    for (const std::string& a : argv) command += " '" + a + "'";
    return {"/bin/sh", "-c", command + " >>'" + log + "' 2>&1"};
  }
  ChildProcess process_;
};

// munged + slurmctld + slurmd of a one-node cluster, all files under `dir`.
// Start() sets SLURM_CONF in this process's environment, so sbatch, squeue,
// scancel and the gridrun CLI started from here talk to it.
class SlurmCluster {
 public:
  // Why the cluster cannot run here ("" if it can): missing programs.
  static std::string Missing() {
    for (const char* program : {"/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged",
                                "/usr/bin/sbatch", "/usr/bin/srun"}) {
      if (::access(program, X_OK) != 0) {
        return std::string(program) +
               " is missing (scripts/install-deps.sh installs slurm-wlm "
               "and munge)";
      }
    }
    if (::geteuid() != 0) return "a private Slurm cluster needs root (munged runs as munge)";
    return "";
  }

  // Starts the daemons; "" on success, else what went wrong (with logs).
  std::string Start(const std::string& dir, int cpus) {
    namespace fs = std::filesystem;
    dir_ = dir;
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);  // slurmstepd and the ranks stay ours to kill
    const std::string munge = dir + "/munge", slurm = dir + "/slurm";
    fs::create_directories(munge);
    fs::create_directories(slurm + "/state");
    fs::create_directories(slurm + "/spool");
    {
      // A fresh key: munged only needs both ends to share it.
      std::ofstream key(munge + "/munge.key", std::ios::binary);
      std::ifstream random("/dev/urandom", std::ios::binary);
      char bytes[1024];
      random.read(bytes, sizeof(bytes));
      key.write(bytes, sizeof(bytes));
    }
    if (Shell("chown -R munge:munge " + munge + " && chmod 400 " + munge +
              "/munge.key && chmod 755 " + munge + " " + dir) != 0) {
      return "cannot hand " + munge + " to the munge user";
    }
    munged_ = std::make_unique<Daemon>(
        std::vector<std::string>{
            "runuser", "-u", "munge", "--", "/usr/sbin/munged", "-F",
            "--socket=" + munge + "/munge.socket.2", "--key-file=" + munge + "/munge.key",
            "--log-file=" + munge + "/munged.log", "--pid-file=" + munge + "/munged.pid",
            "--seed-file=" + munge + "/munged.seed"},
        munge + "/munged.out");
    for (int i = 0; i < 100 && !fs::exists(munge + "/munge.socket.2"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!fs::exists(munge + "/munge.socket.2")) {
      return "munged did not start: " + ReadFile(munge + "/munged.out") +
             ReadFile(munge + "/munged.log");
    }
    const std::string host = ShortHostName();
    const int ctld_port = FreePort(), slurmd_port = FreePort();
    conf_ = slurm + "/slurm.conf";
    std::ofstream conf(conf_);
    conf << "ClusterName=gridrun-test\n"
         << "SlurmctldHost=" << host << "(127.0.0.1)\n"
         << "SlurmUser=root\n"
         << "SlurmctldPort=" << ctld_port << "\n"
         << "SlurmdPort=" << slurmd_port << "\n"
         << "AuthType=auth/munge\n"
         << "AuthInfo=socket=" << munge << "/munge.socket.2\n"
         << "CredType=cred/munge\n"
         << "MpiDefault=pmix\n"
         << "MailProg=/bin/true\n"
         << "ProctrackType=proctrack/linuxproc\n"
         << "TaskPlugin=task/none\n"
         << "SelectType=select/cons_tres\n"
         << "SelectTypeParameters=CR_Core\n"
         // Event-driven FIFO: a job starts as soon as the one before it ends.
         << "SchedulerType=sched/builtin\n"
         // Trust the CPU count below whatever the machine has.
         << "SlurmdParameters=config_overrides\n"
         << "ReturnToService=2\n"
         << "KillWait=15\n"
         << "StateSaveLocation=" << slurm << "/state\n"
         << "SlurmdSpoolDir=" << slurm << "/spool\n"
         << "SlurmctldPidFile=" << slurm << "/slurmctld.pid\n"
         << "SlurmdPidFile=" << slurm << "/slurmd.pid\n"
         << "SlurmctldLogFile=" << slurm << "/slurmctld.log\n"
         << "SlurmdLogFile=" << slurm << "/slurmd.log\n"
         << "AccountingStorageType=accounting_storage/none\n"
         << "JobAcctGatherType=jobacct_gather/none\n"
         << "JobCompType=jobcomp/filetxt\n"
         << "JobCompLoc=" << slurm << "/jobcomp.log\n"
         << "NodeName=" << host << " NodeAddr=127.0.0.1 CPUs=" << cpus
         << " Sockets=1 CoresPerSocket=" << cpus
         << " ThreadsPerCore=1 RealMemory=1000 State=UNKNOWN\n"
         << "PartitionName=debug Nodes=" << host << " Default=YES MaxTime=INFINITE State=UP\n";
    conf.close();
    ::setenv("SLURM_CONF", conf_.c_str(), 1);
    slurmctld_ = std::make_unique<Daemon>(
        std::vector<std::string>{"/usr/sbin/slurmctld", "-D", "-f", conf_}, slurm + "/ctld.out");
    slurmd_ = std::make_unique<Daemon>(
        std::vector<std::string>{"/usr/sbin/slurmd", "-D", "-f", conf_}, slurm + "/slurmd.out");
    // Ready when the node is idle (registered with the controller).
    for (int i = 0; i < 200; ++i) {
      std::string state;
      if (Shell("sinfo -h -o %T", &state) == 0 && state.rfind("idle", 0) == 0) return "";
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return "the Slurm node did not become idle:\n" + Logs();
  }

  // Cancels every job and waits (up to 5 s) until none is left, then the
  // daemons stop (their destructors) and every leftover process is killed.
  ~SlurmCluster() {
    if (conf_.empty()) return;
    const std::vector<std::string> jobs = JobIds();
    std::string ids;
    for (const std::string& id : jobs) ids += " " + id;
    if (!ids.empty()) Shell("scancel" + ids);
    for (int i = 0; i < 50 && !JobIds().empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    slurmd_.reset();
    slurmctld_.reset();
    munged_.reset();
    OrphanReaper::KillAll();
    ::unsetenv("SLURM_CONF");
  }

  // Job ids (squeue %A: array elements by their own id) still in the queue.
  std::vector<std::string> JobIds() const {
    std::string out;
    if (Shell("squeue -h -o %A", &out) != 0) return {};
    std::vector<std::string> ids;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) ids.push_back(line);
    }
    return ids;
  }

  // The job-completion log: one line per finished job (JobId=, JobState=).
  std::string CompletedJobs() const { return ReadFile(dir_ + "/slurm/jobcomp.log"); }

  std::string Logs() const {
    return "--- slurmctld.log\n" + ReadFile(dir_ + "/slurm/slurmctld.log") + "--- slurmd.log\n" +
           ReadFile(dir_ + "/slurm/slurmd.log");
  }

 private:
  std::string dir_, conf_;
  std::unique_ptr<Daemon> munged_, slurmctld_, slurmd_;
};

// Two network namespaces on a bridge: "hosts" 10.200.0.1 and 10.200.0.2, the
// root namespace 10.200.0.254. Names carry the test's PID; the destructor
// deletes the namespaces, veths and bridge it made.
class NetnsHosts {
 public:
  static std::string Missing() {
    if (::geteuid() != 0) return "network namespaces need root (CAP_NET_ADMIN)";
    // Root in an unprivileged container may still lack CAP_NET_ADMIN (bit 12).
    std::istringstream status(ReadFile("/proc/self/status"));
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("CapEff:", 0) == 0 &&
          ((std::stoull(line.substr(7), nullptr, 16) >> 12) & 1) == 0) {
        return "this process lacks CAP_NET_ADMIN (an unprivileged container?)";
      }
    }
    if (Shell("command -v ip") != 0) return "the ip command is missing (iproute2)";
    return "";
  }

  // "" on success, else the failing command and its output.
  std::string Create() {
    const std::string id = std::to_string(::getpid());
    bridge_ = "grbr" + id;
    std::string out;
    if (Shell("ip -o addr show | grep -q ' 10\\.200\\.0\\.254/'", &out) == 0) {
      return "10.200.0.254 is already in use here (a leftover bridge?); cannot make test hosts";
    }
    std::vector<std::string> commands = {
        "ip link add " + bridge_ + " type bridge",
        "ip addr add 10.200.0.254/24 dev " + bridge_,
        "ip link set " + bridge_ + " up",
    };
    for (int i = 1; i <= 2; ++i) {
      const std::string ns = Namespace(i), host_end = VethName(i);
      const std::string peer = "grp" + id + "_" + std::to_string(i);
      namespaces_.push_back(ns);
      commands.insert(
          commands.end(),
          {"ip netns add " + ns, "ip link add " + host_end + " type veth peer name " + peer,
           "ip link set " + host_end + " master " + bridge_, "ip link set " + host_end + " up",
           "ip link set " + peer + " netns " + ns,
           "ip -n " + ns + " link set " + peer + " name eth1",
           "ip -n " + ns + " addr add 10.200.0." + std::to_string(i) + "/24 dev eth1",
           "ip -n " + ns + " link set eth1 up", "ip -n " + ns + " link set lo up"});
    }
    for (const std::string& command : commands) {
      if (Shell(command, &out) != 0) return command + ": " + out;
    }
    return "";
  }

  ~NetnsHosts() {
    for (const std::string& ns : namespaces_) Shell("ip netns delete " + ns);  // veths go too
    if (!bridge_.empty()) Shell("ip link delete " + bridge_ + " type bridge");
  }

  std::string Namespace(int host) const {
    return "grns" + std::to_string(::getpid()) + "_" + std::to_string(host);
  }
  // The root-namespace end of host `host`'s cable.
  std::string VethName(int host) const {
    return "grv" + std::to_string(::getpid()) + "_" + std::to_string(host);
  }

  // Bytes that crossed host `host`'s cable (both directions).
  int64_t TrafficBytes(int host) const {
    const std::string base = "/sys/class/net/" + VethName(host) + "/statistics/";
    return std::stoll("0" + ReadFile(base + "rx_bytes")) +
           std::stoll("0" + ReadFile(base + "tx_bytes"));
  }

 private:
  std::string bridge_;
  std::vector<std::string> namespaces_;
};

}  // namespace gridrun::testing
