// The fuzz targets: one function per target, called with one input.
//
// Each function is the body of a libFuzzer LLVMFuzzerTestOneInput (see
// fuzzer_entry.cpp, built with -DGRIDRUN_FUZZ=ON) and is also linked into
// the unit test tests/fuzz/fuzz_regressions_test.cpp, which replays the seed
// corpus and every input that once crashed (fuzz/regressions/<target>/) in
// the normal and sanitizer builds. A target returns 0 and aborts (via
// FuzzCheck) when it finds an invariant broken; sanitizers report the rest.
//
// Thread-safety: a target may keep process-wide state (a scratch directory);
// call it from one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gridrun::fuzz {

// YAML text -> ParseGridSpec; a valid spec is also expanded (ExpandGrid,
// ToNewExperiment, SummarizeGrid) and checked for consistency.
int GridSpecOneInput(const uint8_t* data, size_t size);

// First byte picks the reader (0: IDX images, 1: IDX labels, 2: CIFAR-10
// batch, taken modulo 3); the rest is the file's bytes (plain or gzip).
int DataReadersOneInput(const uint8_t* data, size_t size);

// A serialized gridrun.fuzz.FuzzSession (fuzz/coordinator_fuzz.proto),
// replayed against the coordinator's request handlers in-process.
int CoordinatorRpcOneInput(const uint8_t* data, size_t size);

// YAML text -> ParseModelFile; a file that parses is resolved for MNIST
// and CIFAR-10 shapes at two sets of sizes and its layer table printed.
int ModelFileOneInput(const uint8_t* data, size_t size);

// Aborts with `what` on stderr when `ok` is false: a broken invariant is a
// finding, like a sanitizer report.
void FuzzCheck(bool ok, std::string_view what);

}  // namespace gridrun::fuzz
