// Security checks that complete the ones elsewhere (docs/RELIABILITY.md has
// the full list): the token on every one of the 15 RPCs, streaming ones
// included; TLS client certificates and the token together; the gRPC
// message limit and the per-field limits on every RPC; `gridrun export`
// never writing through a symlink planted in its target directory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "cli/export_command.h"
#include "tests/integration/cli_test_util.h"

namespace gridrun::testing {
namespace {
namespace security_test {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Calls every RPC of both services once through `channel` with `options`
// (its token) and returns each call's status by RPC name. Requests carry
// `filler` in a string field, so the same table tests size limits.
std::map<std::string, grpc::Status> CallEveryRpc(const ClientOptions& options,
                                                 const std::string& worker_id,
                                                 const v1::TrialLease& lease,
                                                 const std::string& filler = "") {
  auto channel = CreateCoordinatorChannel(options);
  auto grid = v1::GridService::NewStub(channel);
  auto workers = v1::WorkerService::NewStub(channel);
  std::map<std::string, grpc::Status> out;
  auto ctx = [&] {
    auto c = std::make_unique<grpc::ClientContext>();
    PrepareContext(c.get(), options, std::chrono::seconds(10));
    return c;
  };
  const std::string wid = filler.empty() ? worker_id : filler;
  {
    v1::SubmitGridRequest r;
    r.set_spec_yaml(filler.empty() ? SmallSpec("sneaky") : filler);
    v1::SubmitGridResponse o;
    out["SubmitGrid"] = grid->SubmitGrid(ctx().get(), r, &o);
  }
  {
    v1::GetExperimentRequest r;
    r.set_experiment_id(filler.empty() ? "svc-test" : filler);
    v1::Experiment o;
    out["GetExperiment"] = grid->GetExperiment(ctx().get(), r, &o);
  }
  {
    v1::ListExperimentsRequest r;
    r.set_page_token(filler);
    v1::ListExperimentsResponse o;
    out["ListExperiments"] = grid->ListExperiments(ctx().get(), r, &o);
  }
  {
    v1::ListTrialsRequest r;
    r.set_experiment_id(filler.empty() ? "svc-test" : filler);
    v1::ListTrialsResponse o;
    out["ListTrials"] = grid->ListTrials(ctx().get(), r, &o);
  }
  {
    v1::CancelExperimentRequest r;
    r.set_experiment_id(filler.empty() ? "no-such-experiment" : filler);
    v1::CancelExperimentResponse o;
    out["CancelExperiment"] = grid->CancelExperiment(ctx().get(), r, &o);
  }
  {
    auto c = ctx();
    v1::WatchExperimentRequest r;
    r.set_experiment_id(filler.empty() ? "no-such-experiment" : filler);
    auto reader = grid->WatchExperiment(c.get(), r);
    v1::TrialEvent e;
    while (reader->Read(&e)) {
    }
    out["WatchExperiment"] = reader->Finish();
  }
  {
    v1::RegisterWorkerRequest r;
    r.set_host(filler.empty() ? "h" : filler);
    r.set_ranks(1);
    v1::RegisterWorkerResponse o;
    out["RegisterWorker"] = workers->RegisterWorker(ctx().get(), r, &o);
  }
  {
    v1::LeaseTrialRequest r;
    r.set_worker_id(wid);
    v1::LeaseTrialResponse o;
    out["LeaseTrial"] = workers->LeaseTrial(ctx().get(), r, &o);
  }
  auto set_lease = [&](auto* m) {
    m->set_worker_id(wid);
    m->set_trial_id(lease.trial_id());
    m->set_attempt(lease.attempt());
  };
  {
    v1::HeartbeatRequest r;
    set_lease(&r);
    v1::HeartbeatResponse o;
    out["Heartbeat"] = workers->Heartbeat(ctx().get(), r, &o);
  }
  {
    v1::ReportMetricsRequest r;
    set_lease(&r);
    auto* p = r.add_points();
    p->set_name("loss/total");
    p->set_step(1);
    v1::ReportMetricsResponse o;
    out["ReportMetrics"] = workers->ReportMetrics(ctx().get(), r, &o);
  }
  {
    v1::ReportSampleRequest r;
    set_lease(&r);
    r.set_name("samples");
    r.set_png(TinyPng());
    v1::ReportSampleResponse o;
    out["ReportSample"] = workers->ReportSample(ctx().get(), r, &o);
  }
  {
    auto c = ctx();
    v1::SaveCheckpointResponse o;
    auto writer = workers->SaveCheckpoint(c.get(), &o);
    v1::CheckpointChunk chunk;
    set_lease(chunk.mutable_header());
    chunk.mutable_header()->set_sha256(Sha256Hex("x"));
    chunk.mutable_header()->set_total_bytes(1);
    chunk.set_data("x");
    writer->Write(chunk);
    writer->WritesDone();
    out["SaveCheckpoint"] = writer->Finish();
  }
  {
    auto c = ctx();
    v1::FetchCheckpointRequest r;
    set_lease(&r);
    auto reader = workers->FetchCheckpoint(c.get(), r);
    v1::CheckpointChunk chunk;
    while (reader->Read(&chunk)) {
    }
    out["FetchCheckpoint"] = reader->Finish();
  }
  {
    v1::FailTrialRequest r;
    set_lease(&r);
    r.set_retryable(true);
    v1::FailTrialResponse o;
    out["FailTrial"] = workers->FailTrial(ctx().get(), r, &o);
  }
  {
    v1::CompleteTrialRequest r;
    set_lease(&r);
    v1::CompleteTrialResponse o;
    out["CompleteTrial"] = workers->CompleteTrial(ctx().get(), r, &o);
  }
  return out;
}

class TokenOnEveryRpcTest : public CliFixture {
 protected:
  void SetUp() override {
    token_ = "s3cret-token-value";
    StartServer();
  }
};

TEST_F(TokenOnEveryRpcTest, AllFifteenRpcsRefuseAMissingOrWrongToken) {
  Submit(SmallSpec());
  const std::string worker = Register();
  const v1::TrialLease lease = Lease(worker).lease();
  ASSERT_GT(lease.trial_id(), 0);
  for (const std::string& bad : {std::string(), std::string("wrong-token"),
                                 std::string("s3cret-token-valuE")}) {
    ClientOptions options = client_;
    options.token = bad;
    const auto statuses = CallEveryRpc(options, worker, lease);
    EXPECT_EQ(statuses.size(), 15u);
    for (const auto& [rpc, status] : statuses) {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
          << rpc << " with token '" << bad << "': " << status.error_message();
      EXPECT_EQ(status.error_message().find(token_), std::string::npos) << rpc;
    }
  }
  // Nothing changed: one experiment, the lease still held at attempt 1, no
  // metric, sample or checkpoint stored.
  EXPECT_EQ(server_->store()->ListExperiments(0, 10)->size(), 1u);
  auto trial = server_->store()->GetTrial(lease.trial_id());
  ASSERT_TRUE(trial.ok());
  EXPECT_EQ(trial->state, coordinator::TrialState::kRunning);
  EXPECT_EQ(trial->attempt, 1);
  EXPECT_TRUE(server_->store()->ListMetrics(lease.trial_id())->empty());
  EXPECT_TRUE(server_->store()->ListSamples(lease.trial_id())->empty());
  EXPECT_TRUE(server_->store()->ListCheckpoints(lease.trial_id())->empty());
  // The right token gets past authentication on every RPC.
  for (const auto& [rpc, status] : CallEveryRpc(client_, worker, lease)) {
    EXPECT_NE(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << rpc;
  }
}

class SizeLimitsTest : public CliFixture {};

TEST_F(SizeLimitsTest, EveryRpcRefusesAMessageOverTheLimitAndKeepsServing) {
  Submit(SmallSpec());
  const std::string worker = Register();
  const v1::TrialLease lease = Lease(worker).lease();
  // 17 MiB in one string field: over the 16 MiB receive limit.
  const std::string huge((17 << 20), 'a');
  const auto statuses = CallEveryRpc(client_, worker, lease, huge);
  EXPECT_EQ(statuses.size(), 15u);
  for (const auto& [rpc, status] : statuses) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << rpc << ": " << status.error_message();
  }
  // One checkpoint chunk over the limit, on a valid lease.
  {
    auto context = Ctx();
    v1::SaveCheckpointResponse out;
    auto writer = worker_->SaveCheckpoint(context.get(), &out);
    v1::CheckpointChunk chunk;
    chunk.mutable_header()->set_worker_id(worker);
    chunk.mutable_header()->set_trial_id(lease.trial_id());
    chunk.mutable_header()->set_attempt(lease.attempt());
    chunk.mutable_header()->set_sha256(Sha256Hex(huge));
    chunk.mutable_header()->set_total_bytes(static_cast<int64_t>(huge.size()));
    chunk.set_data(huge);
    writer->Write(chunk);
    writer->WritesDone();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  EXPECT_TRUE(server_->store()->ListCheckpoints(lease.trial_id())->empty());
  // Still serving, and the lease is intact.
  EXPECT_TRUE(Metrics(worker, lease, "loss/total", 1, 0.5).ok());
  EXPECT_TRUE(Complete(worker, lease).ok());
}

TEST_F(SizeLimitsTest, FieldLimitsBelowTheMessageLimitNameTheField) {
  Submit(SmallSpec());
  const std::string worker = Register();
  const v1::TrialLease lease = Lease(worker).lease();
  auto expect_invalid = [](const grpc::Status& status, const std::string& field) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_THAT(status.error_message(), HasSubstr(field));
  };
  {  // spec_yaml: 1 MiB
    v1::SubmitGridRequest r;
    r.set_spec_yaml(SmallSpec("big") + "# " + std::string(1 << 20, 'x') + "\n");
    v1::SubmitGridResponse o;
    expect_invalid(grid_->SubmitGrid(Ctx().get(), r, &o), "spec_yaml");
  }
  {  // experiment ids: 128 characters
    v1::GetExperimentRequest r;
    r.set_experiment_id(std::string(129, 'e'));
    v1::Experiment o;
    expect_invalid(grid_->GetExperiment(Ctx().get(), r, &o), "experiment_id");
  }
  {  // host: 255 characters
    v1::RegisterWorkerRequest r;
    r.set_host(std::string(256, 'h'));
    r.set_ranks(1);
    v1::RegisterWorkerResponse o;
    expect_invalid(worker_->RegisterWorker(Ctx().get(), r, &o), "host");
  }
  {  // worker_id: 128 characters
    v1::LeaseTrialRequest r;
    r.set_worker_id(std::string(129, 'w'));
    v1::LeaseTrialResponse o;
    expect_invalid(worker_->LeaseTrial(Ctx().get(), r, &o), "worker_id");
  }
  // Metric names: 128 characters; batches: 10,000 points (tested in
  // coordinator_service_test); samples: 8 MiB (ditto).
  expect_invalid(MetricAt(worker, lease, std::string(129, 'm'), 1, 1, 1.0), "name");
  {  // a checkpoint claiming more than the configured limit is refused up front
    auto context = Ctx();
    v1::SaveCheckpointResponse out;
    auto writer = worker_->SaveCheckpoint(context.get(), &out);
    v1::CheckpointChunk chunk;
    chunk.mutable_header()->set_worker_id(worker);
    chunk.mutable_header()->set_trial_id(lease.trial_id());
    chunk.mutable_header()->set_attempt(lease.attempt());
    chunk.mutable_header()->set_sha256(Sha256Hex("x"));
    chunk.mutable_header()->set_total_bytes((int64_t{4} << 30) + 1);
    writer->Write(chunk);
    writer->WritesDone();
    expect_invalid(writer->Finish(), "header.total_bytes");
  }
  {  // more data than the header announced
    auto context = Ctx();
    v1::SaveCheckpointResponse out;
    auto writer = worker_->SaveCheckpoint(context.get(), &out);
    v1::CheckpointChunk chunk;
    chunk.mutable_header()->set_worker_id(worker);
    chunk.mutable_header()->set_trial_id(lease.trial_id());
    chunk.mutable_header()->set_attempt(lease.attempt());
    chunk.mutable_header()->set_sha256(Sha256Hex("abcd"));
    chunk.mutable_header()->set_total_bytes(4);
    chunk.set_data("ab");
    writer->Write(chunk);
    chunk.clear_header();
    chunk.set_data(std::string(1000, 'z'));
    writer->Write(chunk);
    writer->WritesDone();
    expect_invalid(writer->Finish(), "total_bytes");
  }
  EXPECT_TRUE(server_->store()->ListCheckpoints(lease.trial_id())->empty());
  // A long error message is kept, cut to 4096 bytes.
  ASSERT_TRUE(Fail(worker, lease, std::string(100'000, 'E')).ok());
  auto trial = server_->store()->GetTrial(lease.trial_id());
  ASSERT_TRUE(trial.ok());
  EXPECT_EQ(trial->error.size(), 4096u);
}

// ---- TLS with client certificates and a token together ------------------------

class TlsAndTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("openssl version > /dev/null 2>&1") != 0) {
      GTEST_SKIP() << "the openssl command is not installed";
    }
    // Two CAs: the coordinator trusts client certificates from `ca` only;
    // `rogue` signs a client certificate that must be refused.
    const std::string d = dir_.path();
    std::string script = "set -e; cd " + d + ";";
    for (const std::string ca : {"ca", "rogue"}) {
      script += " openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=" + ca +
                " -keyout " + ca + ".key -out " + ca + ".pem 2>/dev/null;";
    }
    auto sign = [&](const std::string& name, const std::string& ca, const std::string& ext) {
      script += " openssl req -newkey rsa:2048 -nodes -subj /CN=" + name + " -keyout " + name +
                ".key -out " + name + ".csr 2>/dev/null; openssl x509 -req -in " + name +
                ".csr -CA " + ca + ".pem -CAkey " + ca + ".key -CAcreateserial -days 2 " + ext +
                " -out " + name + ".pem 2>/dev/null;";
    };
    script += " printf 'subjectAltName=DNS:localhost,IP:127.0.0.1' > san.ext;";
    sign("server", "ca", "-extfile san.ext");
    sign("client", "ca", "");
    sign("intruder", "rogue", "");
    ASSERT_EQ(std::system(("bash -c '" + script + "'").c_str()), 0);
    coordinator::CoordinatorOptions options;
    options.listen = "127.0.0.1:0";
    options.db_path = d + "/tls.db";
    options.tls_cert_path = d + "/server.pem";
    options.tls_key_path = d + "/server.key";
    options.tls_client_ca_path = d + "/ca.pem";
    options.token = "tls-and-token";
    auto server = coordinator::CoordinatorServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  grpc::Status List(const std::string& cert, const std::string& token) {
    ClientOptions options;
    options.address = "127.0.0.1:" + std::to_string(server_->port());
    options.tls_ca_path = dir_.path() + "/ca.pem";
    options.tls_cert_path = dir_.path() + "/" + cert + ".pem";
    options.tls_key_path = dir_.path() + "/" + cert + ".key";
    options.token = token;
    auto stub = v1::GridService::NewStub(CreateCoordinatorChannel(options));
    grpc::ClientContext context;
    PrepareContext(&context, options, std::chrono::seconds(5));
    v1::ListExperimentsRequest request;
    v1::ListExperimentsResponse response;
    return stub->ListExperiments(&context, request, &response);
  }

  TempDir dir_;
  std::unique_ptr<coordinator::CoordinatorServer> server_;
};

TEST_F(TlsAndTokenTest, BothTheClientCertificateAndTheTokenAreRequired) {
  // A certificate from another CA does not get a connection, token or not.
  EXPECT_EQ(List("intruder", "tls-and-token").error_code(), grpc::StatusCode::UNAVAILABLE);
  // The right certificate is not enough without the token.
  EXPECT_EQ(List("client", "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(List("client", "wrong").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status ok = List("client", "tls-and-token");
  EXPECT_TRUE(ok.ok()) << ok.error_message();
}

// ---- export into a directory with planted symlinks ----------------------------

class ExportSymlinkTest : public CliFixture {
 protected:
  // One COMPLETE trial with one sample, written by the real coordinator.
  void SetUp() override {
    CliFixture::SetUp();
    Submit("experiment: links\ndataset: mnist\nmodel: vae-mlp\nepochs: 1\n");
    const std::string worker = Register();
    const v1::TrialLease lease = Lease(worker).lease();
    ASSERT_TRUE(MetricAt(worker, lease, "loss/total", 1, 1, 0.5).ok());
    ASSERT_TRUE(Sample(worker, lease, "samples", 1, 1).ok());
    ASSERT_TRUE(Complete(worker, lease).ok());
    outside_ = dir_.path() + "/outside";
    fs::create_directories(outside_);
  }

  int Export(const std::string& out_dir) {
    cli::ExportOptions options;
    options.db_path = DbPath();
    options.experiment = "links";
    options.out_dir = out_dir;
    out_.str("");
    err_.str("");
    return cli::RunExport(options, out_, err_);
  }

  std::string outside_;
  std::ostringstream out_, err_;
};

TEST_F(ExportSymlinkTest, APlantedFileSymlinkIsNotFollowed) {
  const std::string out_dir = dir_.path() + "/export";
  fs::create_directories(out_dir + "/samples");
  std::ofstream(outside_ + "/victim.csv") << "precious\n";
  std::ofstream(outside_ + "/victim.png") << "precious\n";
  fs::create_symlink(outside_ + "/victim.csv", out_dir + "/metrics.csv");
  fs::create_symlink(outside_ + "/victim.png",
                     out_dir + "/samples/trial-0_samples_epoch-1_step-1.png");
  EXPECT_EQ(Export(out_dir), 1);
  EXPECT_THAT(err_.str(), HasSubstr("gridrun export: refusing to write"));
  EXPECT_EQ(ReadWholeFile(outside_ + "/victim.csv"), "precious\n");
  EXPECT_EQ(ReadWholeFile(outside_ + "/victim.png"), "precious\n");
}

TEST_F(ExportSymlinkTest, ASamplesDirectorySymlinkIsRefused) {
  const std::string out_dir = dir_.path() + "/export";
  fs::create_directories(out_dir);
  fs::create_directory_symlink(outside_, out_dir + "/samples");
  EXPECT_EQ(Export(out_dir), 1);
  EXPECT_THAT(err_.str(), HasSubstr("gridrun export: refusing to write"));
  EXPECT_TRUE(fs::is_empty(outside_));
}

TEST_F(ExportSymlinkTest, ARegularExportStillWorksAndOverwritesItsOwnFiles) {
  const std::string out_dir = dir_.path() + "/export";
  ASSERT_EQ(Export(out_dir), 0) << err_.str();
  ASSERT_EQ(Export(out_dir), 0) << err_.str();  // again, over its own files
  EXPECT_EQ(ReadWholeFile(out_dir + "/samples/trial-0_samples_epoch-1_step-1.png"), TinyPng());
  EXPECT_THAT(ReadWholeFile(out_dir + "/metrics.csv"), HasSubstr("loss/total"));
}

}  // namespace security_test
}  // namespace
}  // namespace gridrun::testing
