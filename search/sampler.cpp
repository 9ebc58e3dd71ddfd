#include "search/sampler.h"

#include <gsl/gsl_qrng.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/sha256.h"

namespace gridrun::search {
namespace {

// The first 53 bits of Sha256Hex(key) as a fraction in [0, 1).
double HashUnit(const std::string& key) {
  const std::string hex = Sha256Hex(key);
  const uint64_t bits = std::strtoull(hex.substr(0, 16).c_str(), nullptr, 16) >> 11;
  return static_cast<double>(bits) / 9007199254740992.0;  // 2^53
}

double RandomCoordinate(uint64_t seed, int64_t index, int dim) {
  return HashUnit(absl::StrCat(seed, ":", index, ":", dim));
}

struct QrngDeleter {
  void operator()(gsl_qrng* q) const { gsl_qrng_free(q); }
};

}  // namespace

const char* StrategyName(Strategy strategy) {
  switch (strategy) {
    case Strategy::kGrid:
      return "grid";
    case Strategy::kRandom:
      return "random";
    case Strategy::kSobol:
      return "sobol";
  }
  return "unknown";
}

bool ParseStrategy(const std::string& name, Strategy* strategy) {
  for (Strategy s : {Strategy::kGrid, Strategy::kRandom, Strategy::kSobol}) {
    if (name == StrategyName(s)) {
      *strategy = s;
      return true;
    }
  }
  return false;
}

absl::StatusOr<std::vector<std::vector<double>>> UnitPoints(Strategy strategy, int64_t count,
                                                            int dims, uint64_t seed) {
  if (count < 0 || dims < 0) return absl::InvalidArgumentError("sampler: negative count or dims");
  std::vector<std::vector<double>> points(count, std::vector<double>(dims));
  switch (strategy) {
    case Strategy::kGrid:
      return absl::InvalidArgumentError("sampler: the grid strategy enumerates, it does not sample");
    case Strategy::kRandom:
      for (int64_t i = 0; i < count; ++i) {
        for (int d = 0; d < dims; ++d) points[i][d] = RandomCoordinate(seed, i, d);
      }
      return points;
    case Strategy::kSobol: {
      if (dims > kMaxSobolDimensions) {
        return absl::InvalidArgumentError(absl::StrCat("sampler: sobol takes at most ",
                                                       kMaxSobolDimensions, " dimensions (got ",
                                                       dims, ")"));
      }
      if (dims == 0) return points;
      std::unique_ptr<gsl_qrng, QrngDeleter> q(gsl_qrng_alloc(gsl_qrng_sobol, dims));
      if (!q) return absl::InternalError("sampler: gsl_qrng_alloc(sobol) failed");
      std::vector<double> x(dims, 0.0), shift(dims);
      for (int d = 0; d < dims; ++d) shift[d] = RandomCoordinate(seed, -1, d);
      for (int64_t i = 0; i < count; ++i) {
        // GSL's generator starts at the sequence's second point; the first
        // is all zeros (without it the first 2^k points are no net).
        if (i > 0) gsl_qrng_get(q.get(), x.data());
        for (int d = 0; d < dims; ++d) {
          double u = x[d] + shift[d];
          if (u >= 1) u -= 1;
          points[i][d] = u;
        }
      }
      return points;
    }
  }
  return absl::InvalidArgumentError("sampler: unknown strategy");
}

const char* DistributionKindName(Distribution::Kind kind) {
  switch (kind) {
    case Distribution::Kind::kUniform:
      return "uniform";
    case Distribution::Kind::kLogUniform:
      return "log_uniform";
    case Distribution::Kind::kIntRange:
      return "int_range";
    case Distribution::Kind::kChoice:
      return "choice";
  }
  return "unknown";
}

double MapUnit(const Distribution& d, double u) {
  u = std::clamp(u, 0.0, std::nextafter(1.0, 0.0));
  auto round6 = [&](double v) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.6g", v);
    return std::clamp(std::strtod(text, nullptr), d.low, d.high);
  };
  switch (d.kind) {
    case Distribution::Kind::kUniform:
      return round6(d.low + u * (d.high - d.low));
    case Distribution::Kind::kLogUniform: {
      const double a = std::log(d.low), b = std::log(d.high);
      return round6(std::exp(a + u * (b - a)));
    }
    case Distribution::Kind::kIntRange: {
      const int64_t lo = static_cast<int64_t>(d.low), hi = static_cast<int64_t>(d.high);
      const int64_t n = (hi - lo) / d.step + 1;
      const int64_t k = std::min<int64_t>(n - 1, static_cast<int64_t>(u * static_cast<double>(n)));
      return static_cast<double>(lo + k * d.step);
    }
    case Distribution::Kind::kChoice: {
      const int64_t k =
          std::min<int64_t>(d.choices - 1, static_cast<int64_t>(u * static_cast<double>(d.choices)));
      return static_cast<double>(std::max<int64_t>(k, 0));
    }
  }
  return 0;
}

absl::StatusOr<std::vector<int64_t>> ShuffledOrder(int64_t count, uint64_t seed) {
  if (count < 0) return absl::InvalidArgumentError(absl::StrCat("negative count ", count));
  std::vector<std::pair<std::string, int64_t>> keyed;
  keyed.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    keyed.emplace_back(Sha256Hex(absl::StrCat(seed, ":order:", i)), i);
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<int64_t> order;
  order.reserve(keyed.size());
  for (const auto& [key, index] : keyed) order.push_back(index);
  return order;
}

}  // namespace gridrun::search
