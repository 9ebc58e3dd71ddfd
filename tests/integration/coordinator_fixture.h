// Test helpers: an in-process coordinator on a free loopback port with a
// temporary database, stubs for both services, and small helpers that play
// a worker's part. Header-only so every integration test can include it.
#pragma once

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/sha256.h"
#include "coordinator/server.h"
#include "proto/client_channel.h"
#include "proto/gridrun.grpc.pb.h"

namespace gridrun::testing {

// A 2x2 VAE grid: 4 trials, 1 rank each.
inline std::string SmallSpec(const std::string& name = "svc-test") {
  return "experiment: " + name +
         "\n"
         "dataset: mnist\n"
         "model: vae-mlp\n"
         "epochs: 1\n"
         "grid:\n"
         "  latent_size: [2, 4]\n"
         "  kl_weight: [1.0, 0.5]\n";
}

// Submits `spec` to the coordinator `client` names (10 s deadline); returns
// the experiment id, or "" after a test failure naming the error.
inline std::string SubmitSpec(const ClientOptions& client, const std::string& spec) {
  auto stub = v1::GridService::NewStub(CreateCoordinatorChannel(client));
  grpc::ClientContext context;
  PrepareContext(&context, client, std::chrono::seconds(10));
  v1::SubmitGridRequest request;
  request.set_spec_yaml(spec);
  v1::SubmitGridResponse response;
  grpc::Status status = stub->SubmitGrid(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.experiment_id();
}

// A fresh temporary directory, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "gridrun-test-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class CoordinatorFixture : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(); }
  void TearDown() override { server_.reset(); }

  // Options tests may change before calling RestartServer().
  coordinator::CoordinatorOptions Options() {
    coordinator::CoordinatorOptions options;
    options.listen = "127.0.0.1:0";
    options.db_path = dir_.path() + "/grid.db";
    options.lease_timeout_ms = 10'000;
    options.max_attempts = 3;
    options.retry_after_ms = 50;
    options.reap_interval_ms = 3'600'000;  // sweeps happen on LeaseTrial in tests
    options.token = token_;
    return options;
  }

  void StartServer() {
    auto server = coordinator::CoordinatorServer::Start(Options(), &clock_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    client_.address = "127.0.0.1:" + std::to_string(server_->port());
    client_.token = token_;
    auto channel = CreateCoordinatorChannel(client_);
    grid_ = v1::GridService::NewStub(channel);
    worker_ = v1::WorkerService::NewStub(channel);
  }

  void RestartServer() {
    server_.reset();
    StartServer();
  }

  // A context with the token and a 10 s deadline.
  std::unique_ptr<grpc::ClientContext> Ctx() {
    auto context = std::make_unique<grpc::ClientContext>();
    PrepareContext(context.get(), client_, std::chrono::seconds(10));
    return context;
  }

  v1::SubmitGridResponse Submit(const std::string& spec, bool rerun = false) {
    v1::SubmitGridRequest request;
    request.set_spec_yaml(spec);
    request.set_rerun(rerun);
    v1::SubmitGridResponse response;
    grpc::Status status = grid_->SubmitGrid(Ctx().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  std::string Register(int ranks = 1, const std::string& device = "cpu") {
    v1::RegisterWorkerRequest request;
    request.set_host("test-host");
    request.set_ranks(ranks);
    request.set_device(device);
    request.set_pid(getpid());
    v1::RegisterWorkerResponse response;
    grpc::Status status = worker_->RegisterWorker(Ctx().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.worker_id();
  }

  // Leases one trial; the response's lease is unset when none was available.
  v1::LeaseTrialResponse Lease(const std::string& worker_id) {
    v1::LeaseTrialRequest request;
    request.set_worker_id(worker_id);
    v1::LeaseTrialResponse response;
    grpc::Status status = worker_->LeaseTrial(Ctx().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  grpc::Status Complete(const std::string& worker_id, const v1::TrialLease& lease) {
    v1::CompleteTrialRequest request;
    request.set_worker_id(worker_id);
    request.set_trial_id(lease.trial_id());
    request.set_attempt(lease.attempt());
    (*request.mutable_final_metrics())["loss/total"] = 1.5;
    v1::CompleteTrialResponse response;
    return worker_->CompleteTrial(Ctx().get(), request, &response);
  }

  // A FailTrialRequest for `lease`; retryable and preempted are left false.
  static v1::FailTrialRequest FailRequest(const std::string& worker_id,
                                          const v1::TrialLease& lease, const std::string& error) {
    v1::FailTrialRequest request;
    request.set_worker_id(worker_id);
    request.set_trial_id(lease.trial_id());
    request.set_attempt(lease.attempt());
    request.set_error(error);
    return request;
  }

  grpc::Status Metrics(const std::string& worker_id, const v1::TrialLease& lease,
                       const std::string& name, int64_t step, double value) {
    v1::ReportMetricsRequest request;
    request.set_worker_id(worker_id);
    request.set_trial_id(lease.trial_id());
    request.set_attempt(lease.attempt());
    auto* point = request.add_points();
    point->set_name(name);
    point->set_step(step);
    point->set_epoch(1);
    point->set_value(value);
    v1::ReportMetricsResponse response;
    return worker_->ReportMetrics(Ctx().get(), request, &response);
  }

  grpc::Status SaveCheckpoint(const std::string& worker_id, const v1::TrialLease& lease,
                              int64_t step, const std::string& bytes,
                              const std::string& claimed_sha = "") {
    auto context = Ctx();
    v1::SaveCheckpointResponse response;
    auto writer = worker_->SaveCheckpoint(context.get(), &response);
    v1::CheckpointChunk chunk;
    auto* header = chunk.mutable_header();
    header->set_worker_id(worker_id);
    header->set_trial_id(lease.trial_id());
    header->set_attempt(lease.attempt());
    header->set_step(step);
    header->set_epoch(1);
    header->set_sha256(claimed_sha.empty() ? Sha256Hex(bytes) : claimed_sha);
    header->set_total_bytes(static_cast<int64_t>(bytes.size()));
    // Two chunks, to exercise reassembly.
    chunk.set_data(bytes.substr(0, bytes.size() / 2));
    writer->Write(chunk);
    chunk.clear_header();
    chunk.set_data(bytes.substr(bytes.size() / 2));
    writer->Write(chunk);
    writer->WritesDone();
    return writer->Finish();
  }

  // Returns the bytes (empty string and the status when it failed).
  std::pair<grpc::Status, std::string> FetchCheckpoint(const std::string& worker_id,
                                                       const v1::TrialLease& lease) {
    auto context = Ctx();
    v1::FetchCheckpointRequest request;
    request.set_worker_id(worker_id);
    request.set_trial_id(lease.trial_id());
    request.set_attempt(lease.attempt());
    auto reader = worker_->FetchCheckpoint(context.get(), request);
    std::string bytes;
    v1::CheckpointChunk chunk;
    while (reader->Read(&chunk)) bytes += chunk.data();
    return {reader->Finish(), bytes};
  }

  TempDir dir_;
  FakeClock clock_;
  std::string token_;
  std::unique_ptr<coordinator::CoordinatorServer> server_;
  ClientOptions client_;
  std::unique_ptr<v1::GridService::Stub> grid_;
  std::unique_ptr<v1::WorkerService::Stub> worker_;
};

}  // namespace gridrun::testing
