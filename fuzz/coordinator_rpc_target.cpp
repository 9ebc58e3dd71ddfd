// Fuzz target: the coordinator's request handlers (GridServiceImpl,
// WorkerServiceImpl), called in-process with the requests of a fuzzed
// gridrun.fuzz.FuzzSession on a fresh in-memory SQLite store per input.
//
// Not covered: the streaming RPCs (WatchExperiment, SaveCheckpoint,
// FetchCheckpoint) need a live gRPC stream; their request validation is
// shared with the unary handlers fuzzed here. Authentication is off (an
// empty token), as the token check runs before any handler logic.
#include <google/protobuf/stubs/logging.h>
#include <grpcpp/server_context.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "coordinator/auth.h"
#include "coordinator/checkpoint_files.h"
#include "coordinator/coordinator_options.h"
#include "coordinator/grid_service.h"
#include "coordinator/sqlite_trial_store.h"
#include "coordinator/worker_service.h"
#include "fuzz/coordinator_fuzz.pb.h"
#include "fuzz/fuzz_targets.h"

namespace gridrun::fuzz {
namespace {

// Sessions longer than this are cut: each call costs a few SQLite
// transactions, and longer sessions add little coverage.
constexpr int kMaxCalls = 64;

// The checkpoint directory WorkerServiceImpl needs (no unary handler writes
// to it); one per process, removed at exit.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "gridrun-fuzz-XXXXXX").string();
    FuzzCheck(mkdtemp(pattern.data()) != nullptr, "cannot create a scratch directory");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Replaces an "@N" placeholder with the N-th id in `ids` (unchanged when
// there is no such id, so the handler sees an unknown or malformed id).
void Resolve(std::string* id, const std::vector<std::string>& ids) {
  if (id->size() < 2 || (*id)[0] != '@') return;
  const std::string digits = id->substr(1);
  if (digits.size() > 3 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return;
  const size_t n = std::stoul(digits);
  if (n < ids.size()) *id = ids[n];
}

// A handler's answer must be a known gRPC code with a message when it is an
// error (the protocol promises messages that name the field).
void CheckStatus(const grpc::Status& status, int call_case) {
  FuzzCheck(status.ok() || !status.error_message().empty(),
            absl::StrCat("call ", call_case, " failed with code ", status.error_code(),
                         " and no message"));
  FuzzCheck(status.error_code() != grpc::StatusCode::INTERNAL &&
                status.error_code() != grpc::StatusCode::UNKNOWN,
            absl::StrCat("call ", call_case, " failed with an internal error: ",
                         status.error_message()));
}

}  // namespace

int CoordinatorRpcOneInput(const uint8_t* data, size_t size) {
  static ScratchDir scratch;  // removed at exit
  spdlog::set_level(spdlog::level::off);  // the handlers log every call
  // Parsing mutated bytes logs every invalid UTF-8 string field; parse
  // failures are expected here, not findings.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;

  gridrun::fuzz::FuzzSession session;
  if (!session.ParseFromArray(data, static_cast<int>(size))) return 0;

  auto store = coordinator::SqliteTrialStore::Open(":memory:");
  FuzzCheck(store.ok(), absl::StrCat("cannot open :memory: store: ", store.status().ToString()));
  FakeClock clock;
  coordinator::TokenAuthenticator auth("");
  coordinator::CoordinatorOptions options;
  options.lease_timeout_ms = 10'000;
  coordinator::CheckpointFiles checkpoints(scratch.path());
  coordinator::GridServiceImpl grid(store->get(), &clock, &auth, options);
  coordinator::WorkerServiceImpl worker(store->get(), &checkpoints, &clock, &auth, options);

  std::vector<std::string> workers;
  std::vector<std::string> experiments;
  int calls = 0;
  for (FuzzCall& call : *session.mutable_calls()) {
    if (++calls > kMaxCalls) break;
    grpc::ServerContext context;
    grpc::Status status;
    switch (call.call_case()) {
      case FuzzCall::kSubmitGrid: {
        v1::SubmitGridResponse response;
        status = grid.SubmitGrid(&context, &call.submit_grid(), &response);
        if (status.ok()) experiments.push_back(response.experiment_id());
        break;
      }
      case FuzzCall::kGetExperiment: {
        Resolve(call.mutable_get_experiment()->mutable_experiment_id(), experiments);
        v1::Experiment response;
        status = grid.GetExperiment(&context, &call.get_experiment(), &response);
        break;
      }
      case FuzzCall::kListExperiments: {
        v1::ListExperimentsResponse response;
        status = grid.ListExperiments(&context, &call.list_experiments(), &response);
        break;
      }
      case FuzzCall::kListTrials: {
        Resolve(call.mutable_list_trials()->mutable_experiment_id(), experiments);
        v1::ListTrialsResponse response;
        status = grid.ListTrials(&context, &call.list_trials(), &response);
        break;
      }
      case FuzzCall::kCancelExperiment: {
        Resolve(call.mutable_cancel_experiment()->mutable_experiment_id(), experiments);
        v1::CancelExperimentResponse response;
        status = grid.CancelExperiment(&context, &call.cancel_experiment(), &response);
        break;
      }
      case FuzzCall::kRegisterWorker: {
        v1::RegisterWorkerResponse response;
        status = worker.RegisterWorker(&context, &call.register_worker(), &response);
        if (status.ok()) workers.push_back(response.worker_id());
        break;
      }
      case FuzzCall::kLeaseTrial: {
        Resolve(call.mutable_lease_trial()->mutable_worker_id(), workers);
        v1::LeaseTrialResponse response;
        status = worker.LeaseTrial(&context, &call.lease_trial(), &response);
        break;
      }
      case FuzzCall::kHeartbeat: {
        Resolve(call.mutable_heartbeat()->mutable_worker_id(), workers);
        v1::HeartbeatResponse response;
        status = worker.Heartbeat(&context, &call.heartbeat(), &response);
        break;
      }
      case FuzzCall::kReportMetrics: {
        Resolve(call.mutable_report_metrics()->mutable_worker_id(), workers);
        v1::ReportMetricsResponse response;
        status = worker.ReportMetrics(&context, &call.report_metrics(), &response);
        break;
      }
      case FuzzCall::kReportSample: {
        Resolve(call.mutable_report_sample()->mutable_worker_id(), workers);
        v1::ReportSampleResponse response;
        status = worker.ReportSample(&context, &call.report_sample(), &response);
        break;
      }
      case FuzzCall::kCompleteTrial: {
        Resolve(call.mutable_complete_trial()->mutable_worker_id(), workers);
        v1::CompleteTrialResponse response;
        status = worker.CompleteTrial(&context, &call.complete_trial(), &response);
        break;
      }
      case FuzzCall::kFailTrial: {
        Resolve(call.mutable_fail_trial()->mutable_worker_id(), workers);
        v1::FailTrialResponse response;
        status = worker.FailTrial(&context, &call.fail_trial(), &response);
        break;
      }
      case FuzzCall::kAdvanceClockMs:
        clock.AdvanceMs(std::clamp<int64_t>(call.advance_clock_ms(), 0, 86'400'000));
        worker.SweepExpiredLeases();
        break;
      case FuzzCall::CALL_NOT_SET:
        break;
    }
    CheckStatus(status, static_cast<int>(call.call_case()));
  }
  return 0;
}

}  // namespace gridrun::fuzz
