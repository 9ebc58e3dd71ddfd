// gridrun-coordinator: the gRPC coordinator process. Flags in --help.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <thread>

#include "common/duration.h"
#include "common/logging.h"
#include "proto/client_channel.h"
#include "coordinator/server.h"
#include "ui/web_server.h"

int main(int argc, char** argv) {
  using gridrun::coordinator::CoordinatorOptions;
  CoordinatorOptions options;
  std::string token_file, http_listen, lease_timeout = "30s", log_level = "info";
  CLI::App app{"gridrun coordinator: expands grids into trials, leases them to workers and "
               "keeps every result in SQLite"};
  app.add_option("--listen", options.listen, "HOST:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--db", options.db_path, "SQLite database file (created if missing)")
      ->capture_default_str();
  app.add_option("--checkpoint-dir", options.checkpoint_dir,
                 "where checkpoint files live (default: <db>.checkpoints)");
  app.add_option("--token-file", token_file,
                 "file holding the bearer token every client must send");
  app.add_option("--tls-cert", options.tls_cert_path, "PEM certificate: serve TLS");
  app.add_option("--tls-key", options.tls_key_path, "PEM private key for --tls-cert");
  app.add_option("--tls-client-ca", options.tls_client_ca_path,
                 "PEM CA: require client certificates signed by it");
  app.add_option("--lease-timeout", lease_timeout,
                 "a trial whose worker sends no heartbeat this long is re-queued")
      ->capture_default_str();
  app.add_option("--max-attempts", options.max_attempts,
                 "attempts per trial before it is FAILED")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--keep-trained", options.keep_trained,
                 "trained models kept: the final checkpoints of the N newest COMPLETE trials "
                 "per experiment (a spec's keep_trained overrides it; -1: all)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{-1}, int64_t{1'000'000'000}));
  app.add_option("--http-listen", http_listen,
                 "HOST:PORT: also serve the read-only dashboard of `gridrun ui` (other than "
                 "loopback needs --token-file; viewers then present that token)");
  app.add_option("--max-model-parameters", options.max_model_parameters,
                 "a grid whose model has more parameters is refused")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-torchscript-bytes", options.max_torchscript_bytes,
                 "largest TorchScript file a model file may name (coordinator/torchscript_store.h)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  gridrun::InitLogging("coordinator", log_level);
  auto lease_ms = gridrun::ParseDurationMs(lease_timeout);
  if (!lease_ms.ok()) {
    std::fprintf(stderr, "gridrun-coordinator: --lease-timeout: %s\n",
                 std::string(lease_ms.status().message()).c_str());
    return 2;
  }
  options.lease_timeout_ms = *lease_ms;
  if (!token_file.empty()) {
    try {
      options.token = gridrun::LoadToken(token_file);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gridrun-coordinator: %s\n", e.what());
      return 2;
    }
  }

  // SIGINT/SIGTERM end the process cleanly: block them here and wait for
  // them on a dedicated thread (so no work happens in a signal handler).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = gridrun::coordinator::CoordinatorServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "gridrun-coordinator: %s\n", server.status().ToString().c_str());
    return 1;
  }
  // Scripts that started us with port 0 read the real address from stdout.
  std::printf("listening on %s\n", (*server)->address().c_str());
  // The dashboard reads the database the server has just opened (and
  // migrated) through its own read-only connections: it never blocks writes.
  std::unique_ptr<gridrun::ui::WebServer> dashboard;
  if (!http_listen.empty()) {
    gridrun::ui::WebServerOptions web;
    web.db_path = options.db_path;
    web.listen = http_listen;
    web.token_file = token_file;
    auto started = gridrun::ui::WebServer::Start(web);
    if (!started.ok()) {
      std::fprintf(stderr, "gridrun-coordinator: --http-listen: %s\n",
                   std::string(started.status().message()).c_str());
      (*server)->Shutdown();
      (*server)->Wait();
      return 1;
    }
    dashboard = *std::move(started);
    std::printf("dashboard at %s\n", dashboard->login_url().c_str());
  }
  std::fflush(stdout);
  std::thread signal_waiter([&] {
    int received = 0;
    sigwait(&signals, &received);
    (*server)->Shutdown();
  });
  (*server)->Wait();
  if (dashboard) dashboard->Stop();
  // Wake the signal thread if Shutdown came from elsewhere.
  pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  return 0;
}
