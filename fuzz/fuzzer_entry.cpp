// libFuzzer entry point; GRIDRUN_FUZZ_TARGET names the fuzz_targets.h
// function this executable fuzzes (set per executable in CMakeLists.txt).
#include "fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return gridrun::fuzz::GRIDRUN_FUZZ_TARGET(data, size);
}
