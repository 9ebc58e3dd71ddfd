// Min/max-per-bucket downsampling (M4-like, without first/last per bucket):
// it keeps every extreme that a pixel column would show, which LTTB can drop.
#include "coordinator/curve_downsample.h"

#include <algorithm>

namespace gridrun::coordinator {

std::vector<MetricSample> DownsampleMinMax(const std::vector<MetricSample>& points,
                                           size_t max_points) {
  max_points = std::max<size_t>(max_points, 4);
  if (points.size() <= max_points) return points;
  std::vector<MetricSample> out;
  out.reserve(max_points);
  out.push_back(points.front());
  const size_t inner = points.size() - 2;  // points[1 .. size-2]
  const size_t buckets = (max_points - 2) / 2;
  for (size_t b = 0; b < buckets; ++b) {
    const size_t begin = 1 + inner * b / buckets;
    const size_t end = 1 + inner * (b + 1) / buckets;
    if (begin >= end) continue;
    size_t lo = end, hi = end;
    for (size_t i = begin; i < end; ++i) {
      if (!points[i].value) continue;
      if (lo == end || *points[i].value < *points[lo].value) lo = i;
      if (hi == end || *points[i].value > *points[hi].value) hi = i;
    }
    if (lo == end) {
      out.push_back(points[begin]);  // all NaN: keep the gap
    } else if (lo == hi) {
      out.push_back(points[lo]);
    } else {
      out.push_back(points[std::min(lo, hi)]);
      out.push_back(points[std::max(lo, hi)]);
    }
  }
  out.push_back(points.back());
  return out;
}

}  // namespace gridrun::coordinator
