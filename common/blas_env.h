// Makes OpenBLAS use its fast kernels on CPUs it does not recognise.
//
// Debian's OpenBLAS 0.3.21 does not know the AVX-512 Xeons our machines have
// and falls back to SSE3 kernels (~5x slower GEMM). OPENBLAS_CORETYPE=SkylakeX
// fixes that, but OpenBLAS reads it only when the library loads, i.e. before
// main(). So the torch programs call EnsureFastBlasEnvironment() first thing in
// main(): when the variable is unset and the CPU has AVX-512 it sets it and
// re-executes the program (same pid, same arguments). A value the user set is
// never overridden. Not thread-safe: call before starting threads or MPI.
#pragma once

namespace gridrun {

// Returns normally when nothing had to change; otherwise does not return
// (execv), unless the exec fails, in which case it returns and the program
// runs on with the slower kernels.
void EnsureFastBlasEnvironment(char** argv);

// The OpenBLAS core type this process should use, or "" if none is needed
// (no AVX-512 on this CPU). Exposed for tests and benchmark reports.
const char* RecommendedOpenblasCoretype();

}  // namespace gridrun
