// The TorchScript RPCs on a real server over loopback (proto/gridrun.proto:
// GridService.UploadTorchScript, WorkerService.FetchTorchScript; the rules
// are coordinator/torchscript_store.h's): a file uploaded in chunks by the
// CLI's uploader comes back byte for byte, a second upload of the same bytes
// ends at its header, bad uploads are refused with nothing stored, and
// SubmitGrid refuses a model file naming a hash the coordinator does not have.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "cli/torchscript_files.h"
#include "common/sha256.h"
#include "modelspec/model_file.h"
#include "tests/integration/coordinator_fixture.h"

namespace gridrun::testing {
namespace {
namespace torchscript_rpc_test {

class TorchScriptRpcTest : public CoordinatorFixture {
 protected:
  std::string Fetch(const std::string& sha, grpc::Status* status) {
    v1::FetchTorchScriptRequest request;
    request.set_sha256(sha);
    auto context = Ctx();
    auto reader = worker_->FetchTorchScript(context.get(), request);
    std::string bytes;
    v1::TorchScriptChunk chunk;
    while (reader->Read(&chunk)) bytes += chunk.data();
    *status = reader->Finish();
    return bytes;
  }

  // One upload with this header and these bytes (one chunk).
  grpc::Status RawUpload(const std::string& sha, int64_t total, const std::string& bytes,
                         v1::UploadTorchScriptResponse* response) {
    auto context = Ctx();
    auto writer = grid_->UploadTorchScript(context.get(), response);
    v1::TorchScriptChunk chunk;
    chunk.mutable_header()->set_sha256(sha);
    chunk.mutable_header()->set_total_bytes(total);
    chunk.mutable_header()->set_name("net.pt");
    chunk.set_data(bytes);
    if (writer->Write(chunk)) writer->WritesDone();
    return writer->Finish();
  }

  cli::TorchScriptFile File(const std::string& bytes) {
    return cli::TorchScriptFile{"net.pt", "/nowhere/net.pt", Sha256Hex(bytes), bytes};
  }
};

TEST_F(TorchScriptRpcTest, UploadsInChunksFetchesBackAndUploadsOnce) {
  std::mt19937 random(7);
  std::string bytes(3 * (1 << 20) + 123, '\0');  // four chunks
  for (char& c : bytes) c = static_cast<char>(random());
  const cli::TorchScriptFile file = File(bytes);
  ASSERT_TRUE(cli::UploadTorchScriptFiles(*grid_, [&] { return Ctx(); }, {file}).ok());
  grpc::Status status;
  EXPECT_EQ(Fetch(file.sha256, &status), bytes);
  EXPECT_TRUE(status.ok()) << status.error_message();

  // The same bytes again: the header alone, answered already_stored.
  v1::UploadTorchScriptResponse response;
  ASSERT_TRUE(RawUpload(file.sha256, bytes.size(), "", &response).ok());
  EXPECT_TRUE(response.already_stored());
  ASSERT_TRUE(cli::UploadTorchScriptFiles(*grid_, [&] { return Ctx(); }, {file}).ok());
}

TEST_F(TorchScriptRpcTest, RefusesBadUploadsAndStoresNothing) {
  const std::string bytes = "bytes of a module";
  const std::string sha = Sha256Hex(bytes);
  v1::UploadTorchScriptResponse response;
  grpc::Status too_big = RawUpload(sha, int64_t{300} << 20, "", &response);
  EXPECT_EQ(too_big.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(too_big.error_message(),
            "net.pt: 314572800 bytes; a TorchScript file may have at most 268435456 "
            "(coordinator --max-torchscript-bytes)");
  grpc::Status wrong_hash = RawUpload(Sha256Hex("other"), bytes.size(), bytes, &response);
  EXPECT_EQ(wrong_hash.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(wrong_hash.error_message().find("net.pt: TorchScript upload refused"),
            std::string::npos)
      << wrong_hash.error_message();
  {
    auto context = Ctx();
    auto writer = grid_->UploadTorchScript(context.get(), &response);
    writer->WritesDone();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  for (const std::string& h : {sha, Sha256Hex("other")}) {
    grpc::Status status;
    Fetch(h, &status);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << h;
  }
}

TEST_F(TorchScriptRpcTest, SubmitGridNeedsEveryNamedFileStored) {
  const std::string bytes = "the generator's bytes";
  const cli::TorchScriptFile file = File(bytes);
  const std::string model = modelspec::WithTorchScriptHashes(
      "objective: gan\nsettings: {latent_size: 4}\ngenerator: {torchscript: net.pt}\n"
      "critic:\n  input: flat\n  layers: [{Linear: {out_features: 1}}]\n",
      {{"net.pt", file.sha256}});
  v1::SubmitGridRequest request;
  request.set_spec_yaml("experiment: ts\ndataset: mnist\nmodel: g.yaml\n");
  (*request.mutable_model_files())["g.yaml"] = model;
  v1::SubmitGridResponse response;
  grpc::Status refused = grid_->SubmitGrid(Ctx().get(), request, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(refused.error_message().rfind("model file g.yaml: TorchScript file net.pt (sha256 " +
                                              file.sha256 + ") was not uploaded",
                                          0),
            0u)
      << refused.error_message();
  v1::ListExperimentsResponse listed;
  ASSERT_TRUE(grid_->ListExperiments(Ctx().get(), {}, &listed).ok());
  EXPECT_EQ(listed.experiments_size(), 0);

  ASSERT_TRUE(cli::UploadTorchScriptFiles(*grid_, [&] { return Ctx(); }, {file}).ok());
  grpc::Status accepted = grid_->SubmitGrid(Ctx().get(), request, &response);
  EXPECT_TRUE(accepted.ok()) << accepted.error_message();
  EXPECT_EQ(response.trial_count(), 1);
}

}  // namespace torchscript_rpc_test
}  // namespace
}  // namespace gridrun::testing
