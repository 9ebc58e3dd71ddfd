// Small helpers shared by the benchmark programs: run conditions (CPU, load,
// BLAS library actually mapped into the process) and summary statistics.
// Header-only; no gridrun dependencies.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace gridrun::bench {

inline double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Summary {
  double median = 0, min = 0, max = 0;
  size_t n = 0;
};

inline Summary Summarize(std::vector<double> v) {
  Summary s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.n = v.size();
  s.min = v.front();
  s.max = v.back();
  s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  return s;
}

// The value at quantile q in [0, 1] (nearest rank) of unsorted samples.
inline double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// The middle sample (the upper one of an even count) of unsorted samples.
inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Steps per timed run: `steps` when given (> 0), else as many as fit in
// `round_ms` at the median of the warm-up's step times (seconds), within
// [lo, hi].
inline int StepsPerRun(int steps, double round_ms, const std::vector<double>& warm, int lo,
                       int hi) {
  if (steps > 0) return steps;
  return std::clamp(static_cast<int>(round_ms / (Median(warm) * 1e3)), lo, hi);
}

// Two variants timed against each other in one process: `rounds` rounds, each
// running both for `steps` steps in alternating order (AB, then BA, ...) so a
// change in the machine's load falls on both alike. `run(i, steps, &times)`
// appends variant i's step times. Returns each variant's median of its round
// medians, in the unit `run` records.
template <typename Run>
std::vector<double> AlternatingRoundMedians(Run&& run, int rounds, int steps) {
  std::vector<std::vector<double>> medians(2);
  for (int r = 0; r < rounds; ++r) {
    for (int i = 0; i < 2; ++i) {
      const int variant = (r % 2 == 0) ? i : 1 - i;
      std::vector<double> times;
      run(variant, steps, &times);
      medians[variant].push_back(Median(times));
    }
  }
  return {Median(medians[0]), Median(medians[1])};
}

inline std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  }
  return "unknown";
}

inline std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// The BLAS shared objects mapped into this process (resolved paths), e.g.
// "/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3". Shows which
// alternative Debian's libblas.so.3 link picked.
inline std::string LoadedBlas() {
  std::ifstream in("/proc/self/maps");
  std::string line, found;
  while (std::getline(in, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    if (path.find("blas") == std::string::npos && path.find("mkl") == std::string::npos) continue;
    char resolved[4096];
    if (realpath(path.c_str(), resolved)) path = resolved;
    if (found.find(path) == std::string::npos) found += (found.empty() ? "" : ",") + path;
  }
  return found.empty() ? "none mapped" : found;
}

inline std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace gridrun::bench
