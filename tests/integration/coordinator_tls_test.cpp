// TLS on the coordinator: a CA and certificates made by the test with the
// openssl command; plaintext clients are refused, verified TLS clients get in,
// and with --tls-client-ca only clients with a certificate from that CA do.
#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/integration/coordinator_fixture.h"

namespace gridrun::testing {
namespace {
namespace coordinator_tls_test {

class CoordinatorTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system("openssl version > /dev/null 2>&1") != 0) {
      GTEST_SKIP() << "the openssl command is not installed";
    }
  }

  void SetUp() override {
    const std::string d = dir_.path();
    // A CA, a server certificate for 127.0.0.1/localhost, a client certificate.
    const std::string script =
        "set -e; cd " + d +
        "; openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=gridrun-test-ca "
        "-keyout ca.key -out ca.pem 2>/dev/null"
        "; openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key "
        "-out server.csr 2>/dev/null"
        "; printf 'subjectAltName=DNS:localhost,IP:127.0.0.1' > san.ext"
        "; openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
        "-extfile san.ext -out server.pem 2>/dev/null"
        "; openssl req -newkey rsa:2048 -nodes -subj /CN=worker -keyout client.key "
        "-out client.csr 2>/dev/null"
        "; openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
        "-out client.pem 2>/dev/null";
    ASSERT_EQ(std::system(("bash -c '" + script + "'").c_str()), 0);
  }

  std::unique_ptr<coordinator::CoordinatorServer> Start(bool require_client_cert) {
    coordinator::CoordinatorOptions options;
    options.listen = "127.0.0.1:0";
    options.db_path = dir_.path() + "/tls.db";
    options.tls_cert_path = dir_.path() + "/server.pem";
    options.tls_key_path = dir_.path() + "/server.key";
    if (require_client_cert) options.tls_client_ca_path = dir_.path() + "/ca.pem";
    auto server = coordinator::CoordinatorServer::Start(options);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? std::move(*server) : nullptr;
  }

  grpc::Status ListWith(const ClientOptions& options) {
    auto stub = v1::GridService::NewStub(CreateCoordinatorChannel(options));
    grpc::ClientContext context;
    PrepareContext(&context, options, std::chrono::seconds(5));
    v1::ListExperimentsRequest request;
    v1::ListExperimentsResponse response;
    return stub->ListExperiments(&context, request, &response);
  }

  TempDir dir_;
};

TEST_F(CoordinatorTlsTest, ServerSpeaksTlsOnly) {
  auto server = Start(/*require_client_cert=*/false);
  ASSERT_NE(server, nullptr);
  ClientOptions plain;
  plain.address = "127.0.0.1:" + std::to_string(server->port());
  EXPECT_EQ(ListWith(plain).error_code(), grpc::StatusCode::UNAVAILABLE);

  ClientOptions tls = plain;
  tls.tls_ca_path = dir_.path() + "/ca.pem";
  grpc::Status ok = ListWith(tls);
  EXPECT_TRUE(ok.ok()) << ok.error_message();
}

TEST_F(CoordinatorTlsTest, ClientCertificatesCanBeRequired) {
  auto server = Start(/*require_client_cert=*/true);
  ASSERT_NE(server, nullptr);
  ClientOptions tls;
  tls.address = "127.0.0.1:" + std::to_string(server->port());
  tls.tls_ca_path = dir_.path() + "/ca.pem";
  EXPECT_EQ(ListWith(tls).error_code(), grpc::StatusCode::UNAVAILABLE);

  tls.tls_cert_path = dir_.path() + "/client.pem";
  tls.tls_key_path = dir_.path() + "/client.key";
  grpc::Status ok = ListWith(tls);
  EXPECT_TRUE(ok.ok()) << ok.error_message();
}

}  // namespace coordinator_tls_test
}  // namespace
}  // namespace gridrun::testing
