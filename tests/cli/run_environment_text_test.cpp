// DescribeRunEnvironment: the one way status and the report show where an
// attempt ran.
#include "cli/run_environment_text.h"

#include <gtest/gtest.h>

namespace gridrun::cli {
namespace {
namespace run_environment_text_test {

std::string Joined(const std::vector<EnvironmentField>& fields) {
  std::string text;
  for (const EnvironmentField& f : fields) text += f.key + "/" + f.label + "=" + f.value + "\n";
  return text;
}

TEST(RunEnvironmentTextTest, ShowsEveryFieldInOrderWithLabels) {
  const std::string json =
      R"({"gridrun_version":"0.1.0","build_commit":"abc1234-dirty","torch_version":"1.13.1",)"
      R"("blas":["/a/libopenblas.so.0","/b/libblas.so.3"],"mpi":"Open MPI v4.1.4",)"
      R"("cuda":"none","nccl":"none","hosts":["n1","n2"],)"
      R"("ranks":[{"rank":0,"host":"n1","device":"cuda:0"},{"rank":1,"host":"n2","device":"cuda:0"}]})";
  EXPECT_EQ(Joined(DescribeRunEnvironment(json)),
            "gridrun_version/gridrun=0.1.0\n"
            "build_commit/commit=abc1234-dirty\n"
            "torch_version/libtorch=1.13.1\n"
            "blas/blas=/a/libopenblas.so.0, /b/libblas.so.3\n"
            "mpi/mpi=Open MPI v4.1.4\n"
            "cuda/cuda=none\n"
            "nccl/nccl=none\n"
            "hosts/hosts=n1, n2\n"
            "ranks/ranks=rank 0: n1 cuda:0; rank 1: n2 cuda:0\n");
}

TEST(RunEnvironmentTextTest, MissingOrMalformedIsUnknown) {
  for (const std::string json : {"", "not json", "[1,2]", "{}", R"({"ranks":"x"})"}) {
    const std::vector<EnvironmentField> fields = DescribeRunEnvironment(json);
    ASSERT_EQ(fields.size(), 9u) << json;
    for (const EnvironmentField& field : fields) EXPECT_EQ(field.value, "unknown") << json;
  }
  const std::vector<EnvironmentField> partial =
      DescribeRunEnvironment(R"({"build_commit":"abc","mpi":7})");
  EXPECT_EQ(partial[0].value, "unknown");
  EXPECT_EQ(partial[1].value, "abc");
  EXPECT_EQ(partial[4].value, "7");
}

}  // namespace run_environment_text_test
}  // namespace
}  // namespace gridrun::cli
