// Sampling hyperparameters: the points of a random or Sobol search, and
// mapping a point in the unit cube onto the spec's distributions.
//
// Determinism. Every point is a pure function of (strategy, seed, index,
// dimension), identical on every machine and library version:
//   * random: coordinate d of point i is the first 53 bits of
//     Sha256Hex("<seed>:<i>:<d>") as a fraction in [0, 1) (no std::
//     distribution, whose output the C++ standard leaves to the library).
//   * sobol: GSL's Sobol sequence (gsl_qrng_sobol; at most 40 dimensions),
//     point i, shifted by the seed's random point modulo 1 (a
//     Cranley-Patterson rotation: the seed changes the points, and the
//     all-zero first point of the sequence becomes an ordinary one, without
//     losing the low discrepancy; the first 2^k points still put one point
//     in each of 2^k equal intervals of every coordinate).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gridrun::search {

enum class Strategy { kGrid, kRandom, kSobol };

// "grid" / "random" / "sobol"; the inverse returns false for anything else.
const char* StrategyName(Strategy strategy);
bool ParseStrategy(const std::string& name, Strategy* strategy);

// The most dimensions (distribution axes) a Sobol search may have.
inline constexpr int kMaxSobolDimensions = 40;

// `count` points of `dims` coordinates in [0, 1). INVALID_ARGUMENT for the
// grid strategy, count < 0, or a Sobol search of more than 40 dimensions.
absl::StatusOr<std::vector<std::vector<double>>> UnitPoints(Strategy strategy, int64_t count,
                                                            int dims, uint64_t seed);

// One sampled axis.
struct Distribution {
  enum class Kind {
    kUniform,     // real in [low, high]
    kLogUniform,  // real in [low, high], 0 < low, uniform in log
    kIntRange,    // integer low, low + step, ... <= high (bounds within +-2^53)
    kChoice,      // one of `choices` values (by index)
  };
  Kind kind = Kind::kUniform;
  double low = 0;
  double high = 1;
  int64_t step = 1;     // kIntRange
  int64_t choices = 0;  // kChoice: how many values

  bool operator==(const Distribution&) const = default;
};

// "uniform", "log_uniform", "int_range", "choice".
const char* DistributionKindName(Distribution::Kind kind);

// Maps u in [0, 1) onto `d`: a real for kUniform/kLogUniform (rounded to 6
// significant digits, kept inside [low, high]), an integer for kIntRange,
// the index of the value for kChoice (returned as a double holding an
// integer).
double MapUnit(const Distribution& d, double u);

// A seeded permutation of 0..count-1: position i holds the index whose key
// Sha256Hex("<seed>:order:<index>") is the i-th smallest (ties cannot occur
// between distinct keys of one seed in practice; the index breaks them).
// Identical on every machine. Used to run a scheduled search's trials in a
// random order (coordinator/grid_expand.h). INVALID_ARGUMENT for count < 0.
absl::StatusOr<std::vector<int64_t>> ShuffledOrder(int64_t count, uint64_t seed);

}  // namespace gridrun::search
