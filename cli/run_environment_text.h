// A worker's run environment as people read it: the fields of the JSON
// object a worker reports with each lease (worker/run_environment.h; stored
// per attempt in trial_attempts.environment_json), in a fixed order with
// their labels. `gridrun status EXP TRIAL` and the HTML report both show an
// attempt's environment through DescribeRunEnvironment, so they agree on
// what is shown and on the word for a field the worker did not report.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

namespace gridrun::cli {

struct EnvironmentField {
  std::string key;    // column name in CSV/JSON output: "gridrun_version", ...
  std::string label;  // word for people: "gridrun", "commit", "libtorch", ...
  std::string value;  // "unknown" when not reported
};

// The fields of `environment_json`, in order: gridrun_version, build_commit,
// torch_version, blas, mpi, cuda, nccl, hosts, ranks ("rank 0: host device;
// rank 1: ..."). Lists are joined with ", ". An empty or malformed text
// (an older worker, a damaged row) gives every field as "unknown".
std::vector<EnvironmentField> DescribeRunEnvironment(const std::string& environment_json);

}  // namespace gridrun::cli
