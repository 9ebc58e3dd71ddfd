// Settings of one coordinator process (flags of gridrun-coordinator, or what
// `gridrun local` and the tests choose). Plain value type.
#pragma once

#include <cstdint>
#include <string>

namespace gridrun::coordinator {

struct CoordinatorOptions {
  std::string listen = "127.0.0.1:50051";  // HOST:PORT; port 0 picks a free one
  std::string db_path = "gridrun.db";
  std::string checkpoint_dir;  // default: <db_path>.checkpoints
  std::string token;           // empty: no authentication
  std::string tls_cert_path;   // PEM; TLS when set (with tls_key_path)
  std::string tls_key_path;
  std::string tls_client_ca_path;  // when set, clients must present a cert it signed
  int64_t lease_timeout_ms = 30'000;
  int max_attempts = 3;
  int64_t retry_after_ms = 1'000;      // LeaseTrial hint when the queue is empty
  int64_t reap_interval_ms = 1'000;    // how often expired leases are swept
  int64_t max_checkpoint_bytes = int64_t{4} << 30;
  int64_t max_torchscript_bytes = int64_t{256} << 20;  // per TorchScript file
  int keep_checkpoints = 2;            // newest kept per trial while it runs
  // Trained models kept (TrialStore::RetainTrained): the final checkpoints
  // of this many newest COMPLETE trials per experiment whose spec sets no
  // keep_trained; < 0: every trial's.
  int64_t keep_trained = -1;
  int max_message_bytes = 16 << 20;    // gRPC receive limit per message
  // A grid whose model (any network, all together) has more parameters is
  // refused (GridLimits::max_model_parameters).
  int64_t max_model_parameters = 1'000'000'000;
};

}  // namespace gridrun::coordinator
