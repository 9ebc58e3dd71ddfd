// worker/run_environment: what a one-rank job reports about where it runs,
// and the JSON the coordinator stores.
#include "worker/run_environment.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/version.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/build_info.h"
#include "worker/communicator.h"

namespace gridrun::worker {
namespace {
namespace run_environment_test {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

TEST(RunEnvironmentTest, OneRankReportsThisBuildLibrariesAndHost) {
  LocalCommunicator comm;
  absl::StatusOr<RunEnvironment> environment = CollectRunEnvironment(comm, "cpu", 0);
  ASSERT_TRUE(environment.ok()) << environment.status();
  EXPECT_EQ(environment->gridrun_version, kGridrunVersion);
  EXPECT_EQ(environment->build_commit, kGridrunBuildCommit);
  EXPECT_EQ(environment->torch_version, TORCH_VERSION);
  // This binary links LibTorch, which maps a BLAS library: its resolved path.
  EXPECT_THAT(environment->blas, MatchesRegex("/.*blas.*"));
  EXPECT_THAT(environment->mpi, HasSubstr("MPI"));
#ifndef GRIDRUN_HAVE_CUDA
  EXPECT_EQ(environment->cuda, "none");
  EXPECT_EQ(environment->nccl, "none");
#endif
  ASSERT_EQ(environment->ranks.size(), 1u);
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  EXPECT_EQ(environment->ranks[0].rank, 0);
  EXPECT_EQ(environment->ranks[0].host, host);
  EXPECT_THAT(environment->ranks[0].device, MatchesRegex("cpu.*"));
}

TEST(RunEnvironmentTest, JsonNamesEveryFieldAndTheDistinctHosts) {
  RunEnvironment environment;
  environment.gridrun_version = "0.1.0";
  environment.build_commit = "abc1234";
  environment.torch_version = "1.13.0";
  environment.blas = "/usr/lib/libopenblas.so.0";
  environment.mpi = "Open MPI v4.1.4";
  environment.cuda = "none";
  environment.nccl = "none";
  environment.ranks = {{0, "node-a", "cpu"}, {1, "node-a", "cpu"}, {2, "node-b", "cpu"}};
  const nlohmann::json json = nlohmann::json::parse(RunEnvironmentJson(environment));
  EXPECT_EQ(json.at("gridrun_version"), "0.1.0");
  EXPECT_EQ(json.at("build_commit"), "abc1234");
  EXPECT_EQ(json.at("torch_version"), "1.13.0");
  EXPECT_EQ(json.at("blas"), "/usr/lib/libopenblas.so.0");
  EXPECT_EQ(json.at("mpi"), "Open MPI v4.1.4");
  EXPECT_EQ(json.at("cuda"), "none");
  EXPECT_EQ(json.at("nccl"), "none");
  EXPECT_EQ(json.at("world_size"), 3);
  EXPECT_EQ(json.at("hosts"), nlohmann::json::array({"node-a", "node-b"}));
  ASSERT_EQ(json.at("ranks").size(), 3u);
  EXPECT_EQ(json.at("ranks")[2].at("rank"), 2);
  EXPECT_EQ(json.at("ranks")[2].at("host"), "node-b");
  EXPECT_EQ(json.at("ranks")[2].at("device"), "cpu");
}

}  // namespace run_environment_test
}  // namespace
}  // namespace gridrun::worker
