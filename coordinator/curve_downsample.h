// Shape-keeping downsampling of a learning curve for the dashboard: a curve
// of a million points is drawn from at most a few thousand without losing
// its spikes.
//
// Thread-safety: a pure function.
#pragma once

#include <cstddef>
#include <vector>

#include "coordinator/results_reader.h"

namespace gridrun::coordinator {

// Returns `points` (ascending step) unchanged when there are at most
// `max_points` (>= 4; smaller values act as 4). Otherwise keeps the first and
// the last point and splits the rest into (max_points - 2) / 2 buckets of
// consecutive points, keeping from each its minimum and its maximum value
// in step order (one point when they coincide); a bucket whose values are
// all NaN (std::nullopt) keeps its first point, so gaps stay visible. The
// result is a subsequence of `points`, at most `max_points` long, holding
// the global minimum and maximum.
std::vector<MetricSample> DownsampleMinMax(const std::vector<MetricSample>& points,
                                           size_t max_points);

}  // namespace gridrun::coordinator
