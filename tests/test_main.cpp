// main() of every gridrun test binary.
//
// Sets the environment the tests and the programs they start expect (ctest's
// per-test ENVIRONMENT does not survive gtest_discover_tests, so it is done
// here): where the build, the sources and the real data sets are; permission
// for Open MPI to run as root and oversubscribe (CI runs as root on 2 cores);
// and OpenBLAS's core type (see common/blas_env.h). Values already set in the
// environment win.
#include <gtest/gtest.h>

#include <cstdlib>

#include "common/blas_env.h"
#include "common/malloc_tuning.h"

int main(int argc, char** argv) {
  setenv("GRIDRUN_BUILD_DIR", GRIDRUN_TEST_BUILD_DIR, /*overwrite=*/0);
  setenv("GRIDRUN_SOURCE_DIR", GRIDRUN_TEST_SOURCE_DIR, 0);
  setenv("GRIDRUN_SHARED_DATA", GRIDRUN_TEST_SHARED_DATA, 0);
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
  setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 0);
  gridrun::EnsureFastBlasEnvironment(argv);
  gridrun::KeepFreedMemoryForReuse();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
