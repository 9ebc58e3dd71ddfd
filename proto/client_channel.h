// Client side of the coordinator connection, shared by the CLI and workers:
// builds the channel (plaintext or TLS) and stamps each call with the bearer
// token and a deadline. Thread-safe: ClientOptions is a value; channels are
// thread-safe.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <chrono>
#include <memory>
#include <string>

namespace gridrun {

struct ClientOptions {
  std::string address;        // HOST:PORT
  std::string token;          // sent as `authorization: Bearer <token>` if set
  std::string tls_ca_path;    // PEM roots: use TLS and verify the server with it
  std::string tls_cert_path;  // PEM client certificate (mutual TLS)
  std::string tls_key_path;
  std::string tls_server_name;  // override the name checked in the certificate
  int max_message_bytes = 16 << 20;
};

// Creates the channel. Throws std::runtime_error if a TLS file cannot be read
// (called once at start-up, where a clear exit beats a Status plumbing).
std::shared_ptr<grpc::Channel> CreateCoordinatorChannel(const ClientOptions& options);

// Adds the token metadata and a deadline `timeout` from now.
void PrepareContext(grpc::ClientContext* context, const ClientOptions& options,
                    std::chrono::milliseconds timeout);

// Reads a token file's first line (whitespace stripped); "" if path is empty.
// Throws std::runtime_error with the path if it cannot be read or is empty.
std::string LoadToken(const std::string& path);

}  // namespace gridrun
