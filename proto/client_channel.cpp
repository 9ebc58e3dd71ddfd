#include "proto/client_channel.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace gridrun {
namespace {

std::string ReadWholeFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(std::string(what) + " " + path + ": cannot be read");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

std::shared_ptr<grpc::Channel> CreateCoordinatorChannel(const ClientOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  // Reconnect quickly after a coordinator restart.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls_ca_path.empty()) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadWholeFile(options.tls_ca_path, "TLS CA file");
    if (!options.tls_cert_path.empty()) {
      ssl.pem_cert_chain = ReadWholeFile(options.tls_cert_path, "TLS client certificate");
      ssl.pem_private_key = ReadWholeFile(options.tls_key_path, "TLS client key");
    }
    credentials = grpc::SslCredentials(ssl);
    if (!options.tls_server_name.empty()) {
      args.SetSslTargetNameOverride(options.tls_server_name);
    }
  }
  return grpc::CreateCustomChannel(options.address, credentials, args);
}

void PrepareContext(grpc::ClientContext* context, const ClientOptions& options,
                    std::chrono::milliseconds timeout) {
  if (!options.token.empty()) context->AddMetadata("authorization", "Bearer " + options.token);
  context->set_deadline(std::chrono::system_clock::now() + timeout);
}

std::string LoadToken(const std::string& path) {
  if (path.empty()) return "";
  std::string text = ReadWholeFile(path, "token file");
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) throw std::runtime_error("token file " + path + ": is empty");
  const auto end = text.find_first_of("\r\n", first);
  std::string token = text.substr(first, end == std::string::npos ? end : end - first);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.pop_back();
  return token;
}

}  // namespace gridrun
