// Inline SVG charts for `gridrun report`: line charts (learning curves, one
// polyline per trial, optional log-scale y) and heat maps (a metric over two
// grid axes, each cell coloured by value with the number printed).
//
// The SVG is meant to be embedded in HTML5 (no XML prolog, no xmlns: the
// report must hold no URL at all). Every string that reaches the output
// (titles, labels, legend entries) is escaped with XmlEscape.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gridrun::cli {

// Escapes & < > " ' for XML/HTML text and attribute values.
std::string XmlEscape(std::string_view text);

// The colour of series `index` ("#1f77b4", ...): ten distinct colours, then
// they repeat.
std::string SeriesColor(size_t index);

// Log scale pays off when every value is positive and they span more than
// two decades (max / min > 100). False for an empty set.
bool ShouldUseLogScale(const std::vector<double>& values);

// Round tick values covering [lo, hi] in at most about `target` intervals
// (the smallest step of 1, 2, 2.5 or 5 x 10^k that does it): the first tick
// <= lo, the last >= hi; never closer than `min_step` (1 gives whole
// numbers). lo < hi required; returns {lo, hi} when they are not finite.
std::vector<double> LinearTicks(double lo, double hi, int target = 5, double min_step = 0);

// Powers of ten from the largest <= lo to the smallest >= hi (0 < lo <= hi).
std::vector<double> LogTicks(double lo, double hi);

// A tick label: at most 6 significant digits ("0.001", "250", "10000",
// "1e+06").
std::string TickLabel(double value);

struct ChartSeries {
  std::string label;  // legend entry (e.g. "latent_size=2, kl_weight=0.5")
  std::string color;  // CSS colour
  std::vector<std::pair<double, double>> points;  // (x, y), x ascending; NaN y skipped
};

struct LineChartOptions {
  std::string title;
  std::string x_label;
  std::string y_label;
  int plot_width = 520;  // the plotting area; axes, labels and legend add to it
  int plot_height = 260;
  bool integer_x = true;  // x values are whole numbers (steps, epochs): whole ticks
  // Series with more points are thinned to about this many (the last kept).
  size_t max_points = 1000;
};

// An <svg class="chart"> with axes, ticks, one <polyline> per series (a
// <circle> for a single point), each with a <title> tooltip, and a legend
// on the right. The y axis is logarithmic when ShouldUseLogScale holds for
// all y values (the svg then carries data-scale="log", else "linear").
// Series without finite points are left out; with none at all the chart
// says "no data".
std::string RenderLineChart(const std::vector<ChartSeries>& series,
                            const LineChartOptions& options);

struct HeatMapData {
  std::string title;
  std::string x_label;  // axis name
  std::string y_label;
  std::vector<std::string> x_values;  // column headings, left to right
  std::vector<std::string> y_values;  // row headings, top to bottom
  // cells[y][x]; std::nullopt: no trial there (drawn grey, "n/a").
  std::vector<std::vector<std::optional<double>>> cells;
};

// An <svg class="heatmap">: one <rect> per cell filled on a dark-to-light
// scale between the smallest and largest value (log when ShouldUseLogScale),
// the value printed in it, axis values along the edges and a colour key.
std::string RenderHeatMap(const HeatMapData& data);

}  // namespace gridrun::cli
