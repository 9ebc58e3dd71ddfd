// Test helpers for the `gridrun` subcommand tests: a CoordinatorFixture that
// also plays a worker's part in more detail (progress, metrics at an epoch,
// sample images, failures), connection options pointing at it, and a tiny
// valid PNG. Header-only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/coordinator_connection.h"
#include "tests/integration/coordinator_fixture.h"

namespace gridrun::testing {

// A real 16x16 8-bit greyscale PNG (a diagonal gradient), 153 bytes.
inline std::string TinyPng() {
  static const unsigned char kBytes[] = {
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
      0x44, 0x52, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x10, 0x08, 0x00, 0x00, 0x00,
      0x00, 0x3a, 0x98, 0xa0, 0xbd, 0x00, 0x00, 0x00, 0x60, 0x49, 0x44, 0x41, 0x54, 0x78,
      0xda, 0x65, 0xca, 0x11, 0x00, 0x80, 0x30, 0x00, 0x45, 0xc1, 0x87, 0xc3, 0x61, 0x18,
      0x86, 0xc3, 0x61, 0x18, 0x0e, 0xc3, 0xe1, 0x30, 0x0c, 0xc3, 0x30, 0x0c, 0xc3, 0x30,
      0x0c, 0xc3, 0x30, 0x0c, 0xc3, 0x30, 0x0c, 0xf3, 0xdf, 0xf1, 0x81, 0xcd, 0x5d, 0x19,
      0x62, 0xd3, 0x0d, 0xd3, 0xb2, 0x1d, 0xd7, 0x83, 0xc9, 0x0a, 0x5f, 0xd5, 0xa9, 0xed,
      0xc7, 0x79, 0xdd, 0xcf, 0xfb, 0xfd, 0x05, 0x24, 0x18, 0x24, 0x58, 0x24, 0x64, 0x48,
      0xc8, 0x91, 0x50, 0x20, 0xc1, 0x21, 0xc1, 0x23, 0xa1, 0x44, 0x42, 0x85, 0x84, 0x80,
      0x84, 0x1a, 0x09, 0x11, 0x09, 0xe9, 0x03, 0xa2, 0xdf, 0x7c, 0x01, 0xed, 0x83, 0x37,
      0x01, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
  return std::string(reinterpret_cast<const char*>(kBytes), sizeof(kBytes));
}

inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class CliFixture : public CoordinatorFixture {
 protected:
  // Connection options that reach the fixture's coordinator.
  cli::ConnectionOptions Connection() {
    cli::ConnectionOptions options;
    options.address = client_.address;
    options.timeout = "5s";
    if (!token_.empty()) {
      const std::string path = dir_.path() + "/token";
      std::ofstream(path) << token_ << "\n";
      options.token_file = path;
    }
    return options;
  }

  std::string DbPath() { return dir_.path() + "/grid.db"; }

  std::string WriteSpec(const std::string& text, const std::string& name = "grid.yaml") {
    const std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  grpc::Status Heartbeat(const std::string& worker_id, const v1::TrialLease& lease, int64_t epoch,
                         int64_t step, int64_t total_steps, double rate) {
    v1::HeartbeatRequest request;
    request.set_worker_id(worker_id);
    request.set_trial_id(lease.trial_id());
    request.set_attempt(lease.attempt());
    request.mutable_progress()->set_epoch(epoch);
    request.mutable_progress()->set_step(step);
    request.mutable_progress()->set_total_steps(total_steps);
    request.mutable_progress()->set_steps_per_second(rate);
    v1::HeartbeatResponse response;
    return worker_->Heartbeat(Ctx().get(), request, &response);
  }

  grpc::Status MetricAt(const std::string& worker_id, const v1::TrialLease& lease,
                        const std::string& name, int64_t epoch, int64_t step, double value) {
    v1::ReportMetricsRequest request;
    request.set_worker_id(worker_id);
    request.set_trial_id(lease.trial_id());
    request.set_attempt(lease.attempt());
    auto* point = request.add_points();
    point->set_name(name);
    point->set_step(step);
    point->set_epoch(epoch);
    point->set_value(value);
    v1::ReportMetricsResponse response;
    return worker_->ReportMetrics(Ctx().get(), request, &response);
  }

  grpc::Status Sample(const std::string& worker_id, const v1::TrialLease& lease,
                      const std::string& name, int64_t epoch, int64_t step) {
    v1::ReportSampleRequest request;
    request.set_worker_id(worker_id);
    request.set_trial_id(lease.trial_id());
    request.set_attempt(lease.attempt());
    request.set_name(name);
    request.set_epoch(epoch);
    request.set_step(step);
    request.set_png(TinyPng());
    request.set_rows(1);
    request.set_cols(1);
    v1::ReportSampleResponse response;
    return worker_->ReportSample(Ctx().get(), request, &response);
  }

  grpc::Status Fail(const std::string& worker_id, const v1::TrialLease& lease,
                    const std::string& error) {
    const v1::FailTrialRequest request = FailRequest(worker_id, lease, error);  // final
    v1::FailTrialResponse response;
    return worker_->FailTrial(Ctx().get(), request, &response);
  }

  // Leases the next trial, retrying for up to `timeout` (the experiment may
  // not be submitted yet). The lease is unset if none came.
  v1::TrialLease LeaseWithin(const std::string& worker_id,
                             std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      v1::LeaseTrialResponse response = Lease(worker_id);
      if (response.has_lease()) return response.lease();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return v1::TrialLease();
  }
};

}  // namespace gridrun::testing
