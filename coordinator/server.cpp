#include "coordinator/server.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/status_macros.h"
#include "coordinator/sqlite_trial_store.h"

namespace gridrun::coordinator {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(what, " ", path, ": cannot be read"));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return std::move(buffer).str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeCredentials(
    const CoordinatorOptions& options) {
  if (options.tls_cert_path.empty() && options.tls_key_path.empty()) {
    if (!options.tls_client_ca_path.empty()) {
      return absl::InvalidArgumentError("--tls-client-ca needs --tls-cert and --tls-key");
    }
    return grpc::InsecureServerCredentials();
  }
  if (options.tls_cert_path.empty() || options.tls_key_path.empty()) {
    return absl::InvalidArgumentError("TLS needs both --tls-cert and --tls-key");
  }
  ASSIGN_OR_RETURN(std::string cert, ReadFile(options.tls_cert_path, "TLS certificate"));
  ASSIGN_OR_RETURN(std::string key, ReadFile(options.tls_key_path, "TLS key"));
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({key, cert});
  if (!options.tls_client_ca_path.empty()) {
    ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile(options.tls_client_ca_path, "TLS client CA"));
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

absl::StatusOr<std::unique_ptr<CoordinatorServer>> CoordinatorServer::Start(
    const CoordinatorOptions& options, const Clock* clock) {
  std::unique_ptr<CoordinatorServer> server(new CoordinatorServer());
  server->options_ = options;
  server->clock_ = clock != nullptr ? clock : SystemClock::Get();
  if (options.lease_timeout_ms < 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("lease timeout must be at least 100 ms (got ", options.lease_timeout_ms,
                     " ms)"));
  }
  if (options.max_attempts < 1) {
    return absl::InvalidArgumentError("max attempts must be at least 1");
  }

  ASSIGN_OR_RETURN(server->store_, SqliteTrialStore::Open(options.db_path));
  const std::string checkpoint_dir = options.checkpoint_dir.empty()
                                         ? options.db_path + ".checkpoints"
                                         : options.checkpoint_dir;
  server->checkpoints_ = std::make_unique<CheckpointFiles>(checkpoint_dir);
  RETURN_IF_ERROR(server->checkpoints_->Init());
  server->auth_ = std::make_unique<TokenAuthenticator>(options.token);
  server->grid_service_ = std::make_unique<GridServiceImpl>(
      server->store_.get(), server->clock_, server->auth_.get(), options);
  server->worker_service_ = std::make_unique<WorkerServiceImpl>(
      server->store_.get(), server->checkpoints_.get(), server->clock_, server->auth_.get(),
      options);
  server->torchscript_ = std::make_unique<TorchScriptStore>(
      server->store_.get(), server->checkpoints_.get(), server->clock_,
      options.max_torchscript_bytes);
  server->grid_service_->set_torchscript_store(server->torchscript_.get());
  server->worker_service_->set_torchscript_store(server->torchscript_.get());

  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                   MakeCredentials(options));
  // Debian's abseil runs absl::Mutex's deadlock-cycle detection (a graph
  // update per lock) in every gRPC mutex; the coordinator does not need it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, credentials, &server->port_);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  // Every method is a callback method: no sync-server thread pool exists.
  server->watch_hub_ = std::make_unique<WatchHub>(server->store_.get(), server->clock_);
  server->handler_pool_ = std::make_unique<HandlerPool>(kHandlerThreads);
  server->committer_ = std::make_unique<GroupCommitter>(server->store_.get());
  server->grid_callback_ = std::make_unique<GridCallbackService>(
      server->grid_service_.get(), server->watch_hub_.get(), server->handler_pool_.get());
  server->worker_callback_ = std::make_unique<WorkerCallbackService>(
      server->worker_service_.get(), server->handler_pool_.get(), server->committer_.get());
  builder.RegisterService(server->grid_callback_.get());
  builder.RegisterService(server->worker_callback_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen,
                                               " (address in use or invalid?)"));
  }
  server->host_ = options.listen.substr(0, options.listen.rfind(':'));
  server->reaper_ = std::thread([s = server.get()] { s->ReapLoop(); });
  spdlog::info("coordinator listening on {} (db {}, checkpoints {}, auth {}, {})",
               server->address(), options.db_path, checkpoint_dir,
               options.token.empty() ? "none" : "bearer token",
               options.tls_cert_path.empty()
                   ? "plaintext"
                   : (options.tls_client_ca_path.empty() ? "TLS" : "TLS with client certificates"));
  return server;
}

std::string CoordinatorServer::address() const { return absl::StrCat(host_, ":", port_); }

void CoordinatorServer::ReapLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, std::chrono::milliseconds(options_.reap_interval_ms));
    if (stopping_) break;
    lock.unlock();
    worker_service_->SweepExpiredLeases();
    lock.lock();
  }
}

void CoordinatorServer::Wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  stop_cv_.wait(lock, [this] { return stopping_; });
}

void CoordinatorServer::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  // Give in-flight calls (e.g. a streaming Watch) a moment, then cut them.
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (reaper_.joinable()) reaper_.join();
  spdlog::info("coordinator stopped");
}

CoordinatorServer::~CoordinatorServer() {
  if (server_ == nullptr) return;  // Start() failed before listening
  Shutdown();
  // Every reactor is done once Wait() returns; then the hub may go (it
  // detaches itself from the store).
  server_->Wait();
  server_.reset();
  watch_hub_.reset();
  handler_pool_.reset();
  committer_.reset();
}

}  // namespace gridrun::coordinator
