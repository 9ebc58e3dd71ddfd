// The gridrun subcommands that talk to a coordinator -- submit, status,
// watch, cancel -- against a real in-process coordinator on loopback (the
// fixture), called in-process through RunX(options, out, err); plus the
// connection errors they share and a few runs of the real `gridrun` binary
// for exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/cancel_command.h"
#include "cli/status_command.h"
#include "cli/submit_command.h"
#include "cli/watch_command.h"
#include "tests/integration/cli_test_util.h"
#include "tests/integration/process_util.h"

namespace gridrun::testing {
namespace {
namespace cli_coordinator_commands_test {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class CliCommandsTest : public CliFixture {
 protected:
  int Submit(const std::string& spec_text, bool rerun = false, bool wait = false,
             const std::string& file = "grid.yaml") {
    cli::SubmitOptions options;
    options.spec_path = WriteSpec(spec_text, file);
    options.rerun = rerun;
    options.wait = wait;
    options.min_line_interval_ms = 0;
    options.connection = Connection();
    return Run([&] { return cli::RunSubmit(options, out_, err_); });
  }
  int Status(const std::string& experiment = "", const std::string& format = "table") {
    cli::StatusOptions options;
    options.experiment = experiment;
    options.format = format;
    options.connection = Connection();
    return Run([&] { return cli::RunStatus(options, out_, err_); });
  }
  int Watch(const std::string& experiment, bool live = false) {
    cli::WatchOptions options;
    options.experiment = experiment;
    options.live = live;
    options.min_line_interval_ms = 0;
    options.connection = Connection();
    return Run([&] { return cli::RunWatch(options, out_, err_); });
  }
  int Cancel(const std::string& experiment) {
    cli::CancelOptions options;
    options.experiment = experiment;
    options.connection = Connection();
    return Run([&] { return cli::RunCancel(options, out_, err_); });
  }
  template <typename F>
  int Run(F&& f) {
    out_.str("");
    err_.str("");
    return f();
  }

  // Leases and completes every trial of the queue (n of them).
  // Trial i reports loss/total = 0.5 + i.
  void CompleteAll(int n) {
    const std::string worker = Register();
    for (int i = 0; i < n; ++i) {
      v1::TrialLease lease = LeaseWithin(worker);
      ASSERT_NE(lease.trial_id(), 0) << "trial " << i << " was never leased";
      ASSERT_TRUE(Metrics(worker, lease, "loss/total", 100, 0.5 + i).ok());
      ASSERT_TRUE(Complete(worker, lease).ok());
    }
  }

  std::ostringstream out_, err_;
};

using CliSubmitTest = CliCommandsTest;
using CliStatusTest = CliCommandsTest;
using CliWatchTest = CliCommandsTest;
using CliCancelTest = CliCommandsTest;
using CliConnectionTest = CliCommandsTest;
using CliBinaryTest = CliCommandsTest;

// ---- submit ----

TEST_F(CliSubmitTest, PrintsTheIdAndIsIdempotent) {
  ASSERT_EQ(Submit(SmallSpec()), 0) << err_.str();
  const std::string id = out_.str();
  EXPECT_THAT(id, StartsWith("exp-"));
  EXPECT_EQ(Lines(id).size(), 1u);
  EXPECT_EQ(err_.str(), "4 trials, 0 reused from earlier results\n");
  ASSERT_EQ(Submit(SmallSpec()), 0) << err_.str();
  EXPECT_EQ(out_.str(), id);
  EXPECT_EQ(err_.str(), "already submitted (4 trials)\n");
}

TEST_F(CliSubmitTest, ReusesCompletedTrialsUnlessRerun) {
  ASSERT_EQ(Submit(SmallSpec("first")), 0);
  CompleteAll(4);
  ASSERT_EQ(Submit(SmallSpec("second")), 0) << err_.str();
  EXPECT_EQ(err_.str(), "4 trials, 4 reused from earlier results\n");
  ASSERT_EQ(Submit(SmallSpec("third"), /*rerun=*/true), 0) << err_.str();
  EXPECT_EQ(err_.str(), "4 trials, 0 reused from earlier results\n");
}

TEST_F(CliSubmitTest, PrintsTheCoordinatorsSpecErrorsAsIs) {
  const std::string spec =
      "experiment: bad\ndataset: mnist\nmodel: vae-mlp\nepochs: -3\ngrid:\n  latent_size: [2]\n";
  EXPECT_EQ(Submit(spec, false, false, "bad.yaml"), 1);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(),
            dir_.path() + "/bad.yaml: line 4: epochs: out of range (got -3; allowed: 1..100000)\n");
  // The same name with another spec: ALREADY_EXISTS, also printed as is.
  ASSERT_EQ(Submit(SmallSpec("taken")), 0);
  std::string changed = SmallSpec("taken");
  changed.replace(changed.find("epochs: 1"), 9, "epochs: 2");
  EXPECT_EQ(Submit(changed), 1);
  EXPECT_THAT(err_.str(), HasSubstr("taken"));
}

TEST_F(CliSubmitTest, MissingFileIsAnError) {
  cli::SubmitOptions options;
  options.spec_path = dir_.path() + "/missing.yaml";
  options.connection = Connection();
  EXPECT_EQ(Run([&] { return cli::RunSubmit(options, out_, err_); }), 1);
  EXPECT_THAT(err_.str(), HasSubstr("missing.yaml: cannot open file"));
}

TEST_F(CliSubmitTest, WaitFollowsTheExperimentToTheEnd) {
  std::thread worker([&] { CompleteAll(4); });
  const int code = Submit(SmallSpec(), false, /*wait=*/true);
  worker.join();
  EXPECT_EQ(code, 0) << out_.str() << err_.str();
  const std::vector<std::string> lines = Lines(out_.str());
  ASSERT_GE(lines.size(), 2u);
  EXPECT_THAT(lines.front(), StartsWith("exp-"));
  EXPECT_EQ(lines.back(), "experiment svc-test: 4 COMPLETE, 0 FAILED, 0 CANCELLED");
}

TEST_F(CliSubmitTest, WaitExitsOneWhenATrialFails) {
  std::thread worker([&] {
    const std::string id = Register();
    for (int i = 0; i < 4; ++i) {
      v1::TrialLease lease = LeaseWithin(id);
      ASSERT_NE(lease.trial_id(), 0);
      if (i == 2) {
        ASSERT_TRUE(Fail(id, lease, "boom").ok());
      } else {
        ASSERT_TRUE(Complete(id, lease).ok());
      }
    }
  });
  const int code = Submit(SmallSpec(), false, /*wait=*/true);
  worker.join();
  EXPECT_EQ(code, 1);
  EXPECT_THAT(out_.str(), HasSubstr("trial 2 (latent_size=4, kl_weight=1): FAILED: boom"));
  EXPECT_THAT(out_.str(), HasSubstr("experiment svc-test: 3 COMPLETE, 1 FAILED, 0 CANCELLED"));
}

// ---- status ----

TEST_F(CliStatusTest, ListsExperimentsInEveryFormat) {
  ASSERT_EQ(Status(), 0);
  EXPECT_EQ(out_.str(), "");
  EXPECT_THAT(err_.str(), HasSubstr("no experiments yet"));
  ASSERT_EQ(Submit(SmallSpec("older")), 0);
  clock_.AdvanceMs(1000);
  ASSERT_EQ(Submit(SmallSpec("newer")), 0);

  ASSERT_EQ(Status(), 0) << err_.str();
  std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 4u) << out_.str();
  EXPECT_THAT(lines[0], StartsWith("id "));
  EXPECT_THAT(lines[0], HasSubstr("name   status  waiting  running  complete  failed  cancelled"
                                  "  paused  stopped  total  created"));
  EXPECT_THAT(lines[2], HasSubstr("newer"));  // newest first
  EXPECT_THAT(lines[3], HasSubstr("older"));
  EXPECT_THAT(lines[3], HasSubstr("ACTIVE"));

  ASSERT_EQ(Status("", "csv"), 0);
  lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0],
            "id,name,status,waiting,running,complete,failed,cancelled,paused,stopped,total,created");
  EXPECT_THAT(lines[1], HasSubstr(",newer,ACTIVE,4,0,0,0,0,0,0,4,"));

  ASSERT_EQ(Status("", "json"), 0);
  const auto json = nlohmann::json::parse(out_.str());
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0]["name"], "newer");
  EXPECT_EQ(json[1]["name"], "older");
  EXPECT_EQ(json[1]["waiting"], 4);
  EXPECT_EQ(json[1]["total"], 4);
}

// An ASHA experiment over the real protocol (ReachRung): status shows each
// trial's rung, why stopped trials stopped, and the compute saved.
TEST_F(CliStatusTest, ShowsRungsStopReasonsAndComputeSaved) {
  ASSERT_EQ(Submit("experiment: asha-status\ndataset: mnist\nmodel: vae-mlp\nepochs: 9\n"
                   "scheduler: {type: asha, metric: test/loss, min_epochs: 1, "
                   "reduction_factor: 3}\n"
                   "grid:\n  latent_size: [2, 4]\n"),
            0);
  const std::string id = Lines(out_.str())[0];
  const std::string worker = Register();
  for (double value : {1.0, 2.0}) {
    v1::TrialLease lease = LeaseWithin(worker);
    ASSERT_TRUE(lease.trial_id() > 0);
    EXPECT_EQ(lease.stop_after_epoch(), 1);  // bounded to the first rung
    ASSERT_TRUE(MetricAt(worker, lease, "test/loss", 1, 10, value).ok());
    v1::ReachRungRequest request;
    request.set_worker_id(worker);
    request.set_trial_id(lease.trial_id());
    request.set_attempt(lease.attempt());
    request.set_epoch(1);
    v1::ReachRungResponse response;
    ASSERT_TRUE(worker_->ReachRung(Ctx().get(), request, &response).ok());
    EXPECT_EQ(response.new_state(), v1::TRIAL_PAUSED);
  }
  // Two arrivals with reduction factor 3: nobody is promoted, nothing is
  // left to run, both are stopped.
  ASSERT_EQ(Status(id), 0);
  const std::string text = out_.str();
  EXPECT_THAT(text, HasSubstr("2 STOPPED"));
  EXPECT_THAT(text, HasSubstr("compute: 2 of 18 trial-epochs run (89% saved"));
  EXPECT_THAT(text, HasSubstr("rung"));
  EXPECT_THAT(text, HasSubstr("trial 0 (STOPPED): stopped at epoch 1: paused at an ASHA rung"));
  ASSERT_EQ(Status(id, "csv"), 0);
  EXPECT_THAT(Lines(out_.str())[0], HasSubstr(",step,total_steps,rung,"));
}

TEST_F(CliStatusTest, ShowsTrialsInGridOrderWithProgressParamsAndMetrics) {
  ASSERT_EQ(Submit(SmallSpec()), 0);
  const std::string id = Lines(out_.str())[0];
  const std::string worker = Register();
  v1::TrialLease lease = LeaseWithin(worker);
  ASSERT_TRUE(Heartbeat(worker, lease, 1, 10, 100, 4.5).ok());
  ASSERT_TRUE(MetricAt(worker, lease, "loss/total", 1, 10, 2.5).ok());
  ASSERT_TRUE(MetricAt(worker, lease, "test/neg_elbo", 1, 10, 101.25).ok());
  ASSERT_TRUE(MetricAt(worker, lease, "not/key", 1, 10, 7).ok());

  ASSERT_EQ(Status("svc-test"), 0) << err_.str();
  std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 7u) << out_.str();
  EXPECT_EQ(lines[0], id + " 'svc-test' ACTIVE, 4 trials: 3 WAITING, 1 RUNNING");
  EXPECT_THAT(lines[1], StartsWith("number  state    attempt  worker"));
  EXPECT_THAT(lines[1],
              HasSubstr("epoch  step    latent_size  kl_weight  loss/total  test/neg_elbo"));
  EXPECT_THAT(lines[1], Not(HasSubstr("not/key")));
  EXPECT_THAT(lines[3], StartsWith("     0  RUNNING        1  " + worker));
  EXPECT_THAT(lines[3], HasSubstr("10/100"));
  EXPECT_THAT(lines[3], HasSubstr("2.5"));
  EXPECT_THAT(lines[3], HasSubstr("101.25"));
  EXPECT_THAT(lines[6], StartsWith("     3  WAITING"));

  ASSERT_EQ(Status(id, "csv"), 0);
  lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0],
            "trial_id,number,state,attempt,worker,epoch,step,total_steps,latent_size,kl_weight,"
            "loss/total,test/neg_elbo,reused_from,error");
  EXPECT_EQ(lines[1], std::to_string(lease.trial_id()) + ",0,RUNNING,1," + worker +
                          ",1,10,100,2,1,2.5,101.25,0,");

  ASSERT_EQ(Status(id, "json"), 0);
  const auto json = nlohmann::json::parse(out_.str());
  ASSERT_EQ(json.size(), 4u);
  EXPECT_EQ(json[0]["latent_size"], 2);
  EXPECT_EQ(json[1]["kl_weight"], 0.5);
  EXPECT_EQ(json[0]["loss/total"], 2.5);
  EXPECT_TRUE(json[1]["loss/total"].is_null());
  EXPECT_EQ(json[0]["step"], 10);
  EXPECT_EQ(json[0]["total_steps"], 100);
  EXPECT_EQ(json[3]["state"], "WAITING");
}

TEST_F(CliStatusTest, FailedTrialsShowTheirErrorBelowTheTable) {
  ASSERT_EQ(Submit(SmallSpec()), 0);
  const std::string worker = Register();
  ASSERT_TRUE(Fail(worker, LeaseWithin(worker), "CUDA out of memory").ok());
  ASSERT_EQ(Status("svc-test"), 0);
  EXPECT_THAT(out_.str(), HasSubstr("1 FAILED"));
  EXPECT_THAT(out_.str(), HasSubstr("\ntrial 0 (FAILED): CUDA out of memory\n"));
}

TEST_F(CliStatusTest, UnknownExperimentAndBadFormatAreErrors) {
  EXPECT_EQ(Status("nope"), 1);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "gridrun status: no experiment 'nope'\n");
  EXPECT_EQ(Status("", "yaml"), 1);
  EXPECT_THAT(err_.str(), HasSubstr("--format: 'yaml' is not one of table, csv, json"));
}

TEST_F(CliStatusTest, ATrialShowsEachAttemptAndWhereItRan) {
  ASSERT_EQ(Submit(SmallSpec()), 0) << err_.str();
  const std::string worker = Register();
  v1::LeaseTrialRequest request;
  request.set_worker_id(worker);
  request.set_environment_json(
      R"j({"gridrun_version":"0.1.0","build_commit":"abc1234","torch_version":"1.13.0",)j"
      R"j("blas":"/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3",)j"
      R"j("mpi":"Open MPI v4.1.4","cuda":"none","nccl":"none","world_size":2,)j"
      R"j("hosts":["node-a","node-b"],"ranks":[{"rank":0,"host":"node-a","device":"cpu (Xeon)"},)j"
      R"j({"rank":1,"host":"node-b","device":"cpu (Xeon)"}]})j");
  v1::LeaseTrialResponse leased;
  ASSERT_TRUE(worker_->LeaseTrial(Ctx().get(), request, &leased).ok());
  v1::FailTrialRequest fail = FailRequest(worker, leased.lease(), "worker died");
  fail.set_retryable(true);
  v1::FailTrialResponse failed;
  ASSERT_TRUE(worker_->FailTrial(Ctx().get(), fail, &failed).ok());
  // The retry comes from a worker that does not report its environment.
  ASSERT_EQ(LeaseWithin(worker).trial_id(), leased.lease().trial_id());

  cli::StatusOptions options;
  options.experiment = "svc-test";
  options.trial = 0;
  options.connection = Connection();
  ASSERT_EQ(Run([&] { return cli::RunStatus(options, out_, err_); }), 0) << err_.str();
  const std::string text = out_.str();
  EXPECT_THAT(text, StartsWith("trial 0 (id " + std::to_string(leased.lease().trial_id()) +
                               ") of exp-"));
  EXPECT_THAT(text, HasSubstr(": RUNNING, attempt 2, worker " + worker + "\n"));
  EXPECT_THAT(text, HasSubstr("attempt 1 on worker " + worker + ", started "));
  EXPECT_THAT(text, HasSubstr("  gridrun: 0.1.0\n  commit: abc1234\n  libtorch: 1.13.0\n"
                              "  blas: /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3\n"
                              "  mpi: Open MPI v4.1.4\n  cuda: none\n  nccl: none\n"
                              "  hosts: node-a, node-b\n"
                              "  ranks: rank 0: node-a cpu (Xeon); rank 1: node-b cpu (Xeon)\n"));
  EXPECT_THAT(text, HasSubstr("attempt 2 on worker " + worker + ", started "));
  EXPECT_THAT(text, HasSubstr("  commit: unknown\n"));
  EXPECT_THAT(text, HasSubstr("error: worker died\n"));

  options.format = "csv";
  ASSERT_EQ(Run([&] { return cli::RunStatus(options, out_, err_); }), 0) << err_.str();
  const std::vector<std::string> rows = Lines(out_.str());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_THAT(rows[0], StartsWith("attempt,worker,started,gridrun_version,build_commit,"
                                  "torch_version,blas,mpi,cuda,nccl,hosts,ranks"));
  EXPECT_THAT(rows[1], HasSubstr(",abc1234,1.13.0,"));
  EXPECT_THAT(rows[2], HasSubstr(",unknown,unknown,"));

  options.format = "table";
  options.trial = 42;
  EXPECT_EQ(Run([&] { return cli::RunStatus(options, out_, err_); }), 1);
  EXPECT_THAT(err_.str(), HasSubstr("has no trial number 42"));
}

// ---- watch ----

TEST_F(CliWatchTest, FinishedExperimentPrintsEachTrialAndTheSummary) {
  ASSERT_EQ(Submit(SmallSpec()), 0);
  CompleteAll(4);
  ASSERT_EQ(Watch("svc-test"), 0) << err_.str();
  const std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 5u) << out_.str();
  EXPECT_EQ(lines[0], "trial 0 (latent_size=2, kl_weight=1): COMPLETE loss/total=0.5");
  EXPECT_EQ(lines[3], "trial 3 (latent_size=4, kl_weight=0.5): COMPLETE loss/total=3.5");
  EXPECT_EQ(lines[4], "experiment svc-test: 4 COMPLETE, 0 FAILED, 0 CANCELLED");
}

TEST_F(CliWatchTest, FollowsProgressAndStateChangesUntilTheEnd) {
  ASSERT_EQ(Submit(SmallSpec()), 0);
  std::thread worker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // watch is running
    const std::string id = Register();
    v1::TrialLease first = LeaseWithin(id);
    ASSERT_TRUE(Heartbeat(id, first, 1, 50, 100, 10).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // 4 watch polls
    ASSERT_TRUE(Complete(id, first).ok());
    ASSERT_TRUE(Fail(id, LeaseWithin(id), "boom").ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    cli::CancelOptions cancel;
    cancel.experiment = "svc-test";
    cancel.connection = Connection();
    std::ostringstream out, err;
    EXPECT_EQ(cli::RunCancel(cancel, out, err), 0) << err.str();
  });
  const int code = Watch("svc-test");
  worker.join();
  EXPECT_EQ(code, 1) << "a FAILED and CANCELLED trials make watch fail";
  const std::string text = out_.str();
  EXPECT_THAT(text, HasSubstr("trial 0 (latent_size=2, kl_weight=1): WAITING\n"));
  EXPECT_THAT(text, HasSubstr("trial 0 (latent_size=2, kl_weight=1): RUNNING epoch 1, step "
                              "50/100, 10 steps/s, ETA 5s\n"));
  EXPECT_THAT(text, HasSubstr("trial 0 (latent_size=2, kl_weight=1): COMPLETE\n"));
  EXPECT_THAT(text, HasSubstr("trial 1 (latent_size=2, kl_weight=0.5): FAILED: boom\n"));
  EXPECT_THAT(text, HasSubstr("trial 3 (latent_size=4, kl_weight=0.5): CANCELLED\n"));
  EXPECT_TRUE(text.ends_with("experiment svc-test: 1 COMPLETE, 1 FAILED, 2 CANCELLED\n")) << text;
}

TEST_F(CliWatchTest, LiveModeRedrawsWithAnsiEscapes) {
  ASSERT_EQ(Submit(SmallSpec()), 0);
  CompleteAll(4);
  ASSERT_EQ(Watch("svc-test", /*live=*/true), 0);
  EXPECT_THAT(out_.str(), HasSubstr("\x1b[1F\x1b[J"));
  EXPECT_TRUE(out_.str().ends_with("experiment svc-test: 4 COMPLETE, 0 FAILED, 0 CANCELLED\n"));
}

TEST_F(CliWatchTest, UnknownExperimentIsAnError) {
  EXPECT_EQ(Watch("nope"), 1);
  EXPECT_EQ(err_.str(), "gridrun watch: no experiment 'nope'\n");
}

// ---- cancel ----

TEST_F(CliCancelTest, PrintsWhatWasCancelled) {
  ASSERT_EQ(Submit(SmallSpec()), 0);
  const std::string id = Lines(out_.str())[0];
  const std::string worker = Register();
  LeaseWithin(worker);
  ASSERT_EQ(Cancel("svc-test"), 0) << err_.str();
  EXPECT_EQ(out_.str(), "cancelled " + id +
                            " 'svc-test': 3 waiting trials cancelled, 1 running trial told to "
                            "stop\n");
  ASSERT_EQ(Status(id, "csv"), 0);
  EXPECT_THAT(out_.str(), HasSubstr(",3,CANCELLED,"));
}

TEST_F(CliCancelTest, NothingLeftAndUnknownExperiment) {
  ASSERT_EQ(Submit(SmallSpec()), 0);
  CompleteAll(4);
  ASSERT_EQ(Cancel("svc-test"), 0);
  EXPECT_THAT(out_.str(), HasSubstr("'svc-test': no waiting or running trials left\n"));
  EXPECT_EQ(Cancel("nope"), 1);
  EXPECT_EQ(err_.str(), "gridrun cancel: no experiment 'nope'\n");
}

// ---- connection ----

TEST_F(CliConnectionTest, UnreachableCoordinatorIsNamedClearly) {
  const int port = FreePort();  // nothing listens there
  const std::string address = "127.0.0.1:" + std::to_string(port);
  const std::string spec = WriteSpec(SmallSpec());
  const auto start = std::chrono::steady_clock::now();

  cli::StatusOptions status;
  status.connection.address = address;
  status.connection.timeout = "2s";
  EXPECT_EQ(Run([&] { return cli::RunStatus(status, out_, err_); }), 1);
  EXPECT_THAT(err_.str(),
              StartsWith("gridrun status: cannot reach the coordinator at " + address + ": "));
  cli::SubmitOptions submit;
  submit.spec_path = spec;
  submit.connection = status.connection;
  EXPECT_EQ(Run([&] { return cli::RunSubmit(submit, out_, err_); }), 1);
  EXPECT_THAT(err_.str(), StartsWith("gridrun submit: cannot reach the coordinator at " + address));
  cli::WatchOptions watch;
  watch.experiment = "x";
  watch.connection = status.connection;
  EXPECT_EQ(Run([&] { return cli::RunWatch(watch, out_, err_); }), 1);
  EXPECT_THAT(err_.str(), StartsWith("gridrun watch: cannot reach the coordinator at " + address));
  cli::CancelOptions cancel;
  cancel.experiment = "x";
  cancel.connection = status.connection;
  EXPECT_EQ(Run([&] { return cli::RunCancel(cancel, out_, err_); }), 1);
  EXPECT_THAT(err_.str(), StartsWith("gridrun cancel: cannot reach the coordinator at " + address));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8));
}

TEST_F(CliConnectionTest, TokenIsSentFromTheTokenFile) {
  token_ = "s3cret-token";
  RestartServer();
  cli::StatusOptions options;
  options.connection = Connection();
  EXPECT_EQ(Run([&] { return cli::RunStatus(options, out_, err_); }), 0) << err_.str();

  options.connection.token_file.clear();
  EXPECT_EQ(Run([&] { return cli::RunStatus(options, out_, err_); }), 1);
  EXPECT_THAT(err_.str(), HasSubstr("gridrun status: the coordinator at " + client_.address +
                                    " refused the call: missing 'authorization' metadata"));

  options.connection.token_file = dir_.path() + "/no-such-token";
  EXPECT_EQ(Run([&] { return cli::RunStatus(options, out_, err_); }), 1);
  EXPECT_THAT(err_.str(), HasSubstr("no-such-token: cannot be read"));
}

TEST_F(CliConnectionTest, BadOptionsAreNamed) {
  cli::StatusOptions options;
  options.connection = Connection();
  options.connection.timeout = "soon";
  EXPECT_EQ(Run([&] { return cli::RunStatus(options, out_, err_); }), 1);
  EXPECT_THAT(err_.str(), HasSubstr("--timeout: "));
  options.connection = Connection();
  options.connection.address = "";
  EXPECT_EQ(Run([&] { return cli::RunStatus(options, out_, err_); }), 1);
  EXPECT_THAT(err_.str(), HasSubstr("--coordinator: empty address"));
}

// ---- the real binary ----

TEST_F(CliBinaryTest, ExitCodesOfTheRealProgram) {
  const std::string gridrun = BuildDir() + "/gridrun";
  const std::string address = client_.address;
  {
    ChildProcess p({gridrun, "submit", WriteSpec(SmallSpec()), "--coordinator", address});
    EXPECT_EQ(p.Wait(std::chrono::seconds(20)), 0) << p.output();
    EXPECT_THAT(p.output(), HasSubstr("exp-"));
    EXPECT_THAT(p.output(), HasSubstr("4 trials, 0 reused from earlier results"));
  }
  {
    // The address from the environment.
    setenv("GRIDRUN_COORDINATOR", address.c_str(), 1);
    ChildProcess p({gridrun, "status", "svc-test", "--format", "csv"});
    EXPECT_EQ(p.Wait(std::chrono::seconds(20)), 0) << p.output();
    unsetenv("GRIDRUN_COORDINATOR");
    EXPECT_THAT(p.output(), HasSubstr(",0,WAITING,0,"));
  }
  {
    ChildProcess p({gridrun, "status", "nope", "--coordinator", address});
    EXPECT_EQ(p.Wait(std::chrono::seconds(20)), 1);
    EXPECT_THAT(p.output(), HasSubstr("no experiment 'nope'"));
  }
  {
    ChildProcess p({gridrun, "cancel", "svc-test", "--coordinator",
                    "127.0.0.1:" + std::to_string(FreePort()), "--timeout", "2s"});
    EXPECT_EQ(p.Wait(std::chrono::seconds(20)), 1);
    EXPECT_THAT(p.output(), HasSubstr("cannot reach the coordinator at 127.0.0.1:"));
  }
  {
    ChildProcess p({gridrun, "frobnicate"});
    EXPECT_EQ(p.Wait(std::chrono::seconds(20)), 2);
  }
  {
    ChildProcess p({gridrun, "watch"});  // missing EXPERIMENT
    EXPECT_EQ(p.Wait(std::chrono::seconds(20)), 2);
  }
  for (const char* command : {"submit", "status", "watch", "cancel", "best", "export", "report"}) {
    ChildProcess p({gridrun, command, "--help"});
    EXPECT_EQ(p.Wait(std::chrono::seconds(20)), 0) << command;
    EXPECT_THAT(p.output(), HasSubstr("Usage:")) << command;
  }
}

}  // namespace cli_coordinator_commands_test
}  // namespace
}  // namespace gridrun::testing
