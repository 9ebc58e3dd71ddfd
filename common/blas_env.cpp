#include "common/blas_env.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace gridrun {
namespace {

bool CpuHasAvx512() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) == 0) {
      return line.find(" avx512f") != std::string::npos;
    }
  }
  return false;
}

}  // namespace

const char* RecommendedOpenblasCoretype() {
  return CpuHasAvx512() ? "SkylakeX" : "";
}

void EnsureFastBlasEnvironment(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;  // user's choice
  if (std::getenv("GRIDRUN_BLAS_REEXEC") != nullptr) return;  // no loops
  const char* coretype = RecommendedOpenblasCoretype();
  if (*coretype == '\0') return;
  setenv("OPENBLAS_CORETYPE", coretype, /*overwrite=*/0);
  setenv("GRIDRUN_BLAS_REEXEC", "1", /*overwrite=*/1);
  execv("/proc/self/exe", argv);
  // exec failed: carry on with whatever kernels OpenBLAS picked.
}

}  // namespace gridrun
