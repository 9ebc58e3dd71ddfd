#include "cli/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace gridrun::cli {
namespace {

constexpr int kMarginLeft = 72;
constexpr int kMarginTop = 30;
constexpr int kMarginBottom = 46;
constexpr int kLegendGap = 16;
constexpr int kLegendWidth = 270;
constexpr int kLegendLine = 16;
constexpr size_t kLegendChars = 40;

// Fixed-point text for coordinates: short and locale-independent.
std::string Coord(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.1f", value);
  return buffer;
}

// Cuts `text` to at most `max_bytes` bytes on a UTF-8 character boundary,
// marking the cut with "...".
std::string Shorten(const std::string& text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes - 3;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end) + "...";
}

struct Axis {
  bool log = false;
  double lo = 0, hi = 1;  // the domain (in log10 units when log)
  std::vector<double> ticks;

  // Where `value` lies in the domain, 0..1.
  double Fraction(double value) const {
    const double v = log ? std::log10(value) : value;
    return hi > lo ? (v - lo) / (hi - lo) : 0.5;
  }
};

Axis MakeAxis(double lo, double hi, bool log, double min_step = 0) {
  Axis axis;
  axis.log = log;
  if (log) {
    axis.ticks = LogTicks(lo, hi);
    axis.lo = std::log10(axis.ticks.front());
    axis.hi = std::log10(axis.ticks.back());
    if (axis.hi <= axis.lo) axis.hi = axis.lo + 1;
    return axis;
  }
  if (!(hi > lo)) {
    const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  axis.ticks = LinearTicks(lo, hi, 5, min_step);
  axis.lo = axis.ticks.front();
  axis.hi = axis.ticks.back();
  return axis;
}

// Linear interpolation through a dark-to-light (viridis) palette; t in 0..1.
std::string ScaleColor(double t) {
  static const double kStops[][3] = {
      {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  t = std::clamp(t, 0.0, 1.0) * 4;
  const int i = std::min(3, static_cast<int>(t));
  const double f = t - i;
  char buffer[16];
  std::snprintf(
      buffer, sizeof(buffer), "#%02x%02x%02x",
      static_cast<int>(std::lround(kStops[i][0] + f * (kStops[i + 1][0] - kStops[i][0]))),
      static_cast<int>(std::lround(kStops[i][1] + f * (kStops[i + 1][1] - kStops[i][1]))),
      static_cast<int>(std::lround(kStops[i][2] + f * (kStops[i + 1][2] - kStops[i][2]))));
  return buffer;
}

// A heat-map value for people: 4 significant digits.
std::string CellText(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.4g", value);
  return buffer;
}

}  // namespace

std::string XmlEscape(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      case '\'':
        escaped += "&#39;";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

std::string SeriesColor(size_t index) {
  static const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return kColors[index % 10];
}

bool ShouldUseLogScale(const std::vector<double>& values) {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  bool any = false;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    if (v <= 0) return false;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    any = true;
  }
  return any && hi / lo > 100;
}

std::vector<double> LinearTicks(double lo, double hi, int target, double min_step) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(hi > lo) || target < 2) return {lo, hi};
  const double raw = std::max((hi - lo) / target, min_step);  // at most `target` intervals
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  const double first = std::floor(lo / step) * step;
  std::vector<double> ticks;
  for (int i = 0; i < 1000; ++i) {
    double tick = first + i * step;
    if (std::abs(tick) < step * 1e-9) tick = 0;  // no "-0" or 1e-17
    ticks.push_back(tick);
    if (tick >= hi - step * 1e-9) break;
  }
  return ticks;
}

std::vector<double> LogTicks(double lo, double hi) {
  if (!(lo > 0) || !(hi >= lo) || !std::isfinite(hi)) return {1, 10};
  const int first = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
  int last = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
  if (last <= first) last = first + 1;
  std::vector<double> ticks;
  for (int p = first; p <= last; ++p) ticks.push_back(std::pow(10.0, p));
  return ticks;
}

std::string TickLabel(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.6g", value);
  return buffer;
}

std::string RenderLineChart(const std::vector<ChartSeries>& series,
                            const LineChartOptions& options) {
  // Keep finite points; thin long series.
  struct Drawn {
    const ChartSeries* source;
    std::vector<std::pair<double, double>> points;
  };
  std::vector<Drawn> drawn;
  std::vector<double> ys;
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
  for (const ChartSeries& s : series) {
    Drawn d{&s, {}};
    for (const auto& [x, y] : s.points) {
      if (std::isfinite(x) && std::isfinite(y)) d.points.emplace_back(x, y);
    }
    if (d.points.empty()) continue;
    if (options.max_points > 1 && d.points.size() > options.max_points) {
      const size_t stride = (d.points.size() + options.max_points - 1) / options.max_points;
      std::vector<std::pair<double, double>> thin;
      for (size_t i = 0; i < d.points.size(); i += stride) thin.push_back(d.points[i]);
      if (thin.back() != d.points.back()) thin.push_back(d.points.back());
      d.points = std::move(thin);
    }
    for (const auto& [x, y] : d.points) {
      ys.push_back(y);
      x_lo = std::min(x_lo, x);
      x_hi = std::max(x_hi, x);
    }
    drawn.push_back(std::move(d));
  }

  const bool log_y = ShouldUseLogScale(ys);
  const int legend_height = static_cast<int>(drawn.size()) * kLegendLine + 10;
  const int width = kMarginLeft + options.plot_width + kLegendGap + kLegendWidth;
  const int height =
      std::max(kMarginTop + options.plot_height + kMarginBottom, kMarginTop + legend_height);
  const int plot_left = kMarginLeft;
  const int plot_top = kMarginTop;
  const int plot_right = plot_left + options.plot_width;
  const int plot_bottom = plot_top + options.plot_height;

  std::ostringstream svg;
  svg << "<svg class=\"chart\" data-scale=\"" << (log_y ? "log" : "linear") << "\" width=\""
      << width << "\" height=\"" << height << "\" viewBox=\"0 0 " << width << " " << height
      << "\" role=\"img\">\n";
  svg << "<title>" << XmlEscape(options.title) << "</title>\n";
  svg << "<text class=\"chart-title\" x=\"" << plot_left << "\" y=\"18\">"
      << XmlEscape(options.title) << (log_y ? " (log scale)" : "") << "</text>\n";
  svg << "<rect x=\"" << plot_left << "\" y=\"" << plot_top << "\" width=\"" << options.plot_width
      << "\" height=\"" << options.plot_height << "\" fill=\"#fff\" stroke=\"#999\"/>\n";

  if (drawn.empty()) {
    svg << "<text x=\"" << (plot_left + plot_right) / 2 << "\" y=\"" << (plot_top + plot_bottom) / 2
        << "\" text-anchor=\"middle\" fill=\"#666\">no data</text>\n</svg>\n";
    return svg.str();
  }

  double y_lo = *std::min_element(ys.begin(), ys.end());
  double y_hi = *std::max_element(ys.begin(), ys.end());
  const Axis x_axis = MakeAxis(x_lo, x_hi, /*log=*/false, options.integer_x ? 1.0 : 0.0);
  const Axis y_axis = MakeAxis(y_lo, y_hi, log_y);
  auto px = [&](double x) { return plot_left + x_axis.Fraction(x) * options.plot_width; };
  auto py = [&](double y) { return plot_bottom - y_axis.Fraction(y) * options.plot_height; };

  // Grid lines and tick labels.
  for (double tick : x_axis.ticks) {
    const std::string x = Coord(px(tick));
    svg << "<line class=\"grid\" x1=\"" << x << "\" y1=\"" << plot_top << "\" x2=\"" << x
        << "\" y2=\"" << plot_bottom << "\" stroke=\"#eee\"/>"
        << "<text class=\"tick\" x=\"" << x << "\" y=\"" << plot_bottom + 16
        << "\" text-anchor=\"middle\">" << TickLabel(tick) << "</text>\n";
  }
  for (double tick : y_axis.ticks) {
    const std::string y = Coord(py(tick));
    svg << "<line class=\"grid\" x1=\"" << plot_left << "\" y1=\"" << y << "\" x2=\"" << plot_right
        << "\" y2=\"" << y << "\" stroke=\"#eee\"/>"
        << "<text class=\"tick\" x=\"" << plot_left - 6 << "\" y=\"" << y
        << "\" text-anchor=\"end\" dominant-baseline=\"middle\">" << TickLabel(tick) << "</text>\n";
  }
  svg << "<text class=\"axis-label\" x=\"" << (plot_left + plot_right) / 2 << "\" y=\""
      << plot_bottom + 36 << "\" text-anchor=\"middle\">" << XmlEscape(options.x_label)
      << "</text>\n";
  svg << "<text class=\"axis-label\" transform=\"translate(16," << (plot_top + plot_bottom) / 2
      << ") rotate(-90)\" text-anchor=\"middle\">" << XmlEscape(options.y_label) << "</text>\n";

  // The data, then the legend.
  for (const Drawn& d : drawn) {
    const std::string color = XmlEscape(d.source->color);
    const std::string tooltip = "<title>" + XmlEscape(d.source->label) + "</title>";
    if (d.points.size() == 1) {
      svg << "<circle class=\"series\" cx=\"" << Coord(px(d.points[0].first)) << "\" cy=\""
          << Coord(py(d.points[0].second)) << "\" r=\"3\" fill=\"" << color << "\">" << tooltip
          << "</circle>\n";
      continue;
    }
    svg << "<polyline class=\"series\" fill=\"none\" stroke=\"" << color
        << "\" stroke-width=\"1.5\" points=\"";
    for (size_t i = 0; i < d.points.size(); ++i) {
      svg << (i ? " " : "") << Coord(px(d.points[i].first)) << "," << Coord(py(d.points[i].second));
    }
    svg << "\">" << tooltip << "</polyline>\n";
  }
  const int legend_left = plot_right + kLegendGap;
  for (size_t i = 0; i < drawn.size(); ++i) {
    const int y = plot_top + 8 + static_cast<int>(i) * kLegendLine;
    svg << "<g class=\"legend\"><title>" << XmlEscape(drawn[i].source->label) << "</title>"
        << "<line x1=\"" << legend_left << "\" y1=\"" << y << "\" x2=\"" << legend_left + 18
        << "\" y2=\"" << y << "\" stroke=\"" << XmlEscape(drawn[i].source->color)
        << "\" stroke-width=\"3\"/><text x=\"" << legend_left + 24 << "\" y=\"" << y
        << "\" dominant-baseline=\"middle\">"
        << XmlEscape(Shorten(drawn[i].source->label, kLegendChars)) << "</text></g>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

std::string RenderHeatMap(const HeatMapData& data) {
  std::vector<double> values;
  for (const auto& row : data.cells) {
    for (const auto& cell : row) {
      if (cell && std::isfinite(*cell)) values.push_back(*cell);
    }
  }
  const bool log = ShouldUseLogScale(values);
  double lo = 0, hi = 0;
  if (!values.empty()) {
    lo = *std::min_element(values.begin(), values.end());
    hi = *std::max_element(values.begin(), values.end());
  }
  auto fraction = [&](double v) {
    if (!(hi > lo)) return 0.5;
    return log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo))
               : (v - lo) / (hi - lo);
  };

  size_t y_chars = data.y_label.size();
  for (const std::string& v : data.y_values) y_chars = std::max(y_chars, v.size());
  size_t x_chars = 6;
  for (const std::string& v : data.x_values) x_chars = std::max(x_chars, v.size());
  const int cell_w = static_cast<int>(std::clamp<size_t>(x_chars * 8 + 16, 64, 160));
  const int cell_h = 34;
  const int left = static_cast<int>(std::min<size_t>(y_chars, 30) * 8 + 20);
  const int top = 60;
  const int nx = static_cast<int>(data.x_values.size());
  const int ny = static_cast<int>(data.y_values.size());
  const int grid_right = left + nx * cell_w;
  const int grid_bottom = top + ny * cell_h;
  const int key_left = grid_right + 24;
  const int width = key_left + 120;
  const int height = std::max(grid_bottom + 16, top + 10 * 14 + 16);

  std::ostringstream svg;
  svg << "<svg class=\"heatmap\" data-scale=\"" << (log ? "log" : "linear") << "\" width=\""
      << width << "\" height=\"" << height << "\" viewBox=\"0 0 " << width << " " << height
      << "\" role=\"img\">\n";
  svg << "<title>" << XmlEscape(data.title) << "</title>\n";
  svg << "<text class=\"chart-title\" x=\"" << left << "\" y=\"18\">" << XmlEscape(data.title)
      << "</text>\n";
  // The x axis' name above its values; the y axis' name in the corner,
  // right-aligned above its values.
  svg << "<text class=\"axis-label\" x=\"" << (left + grid_right) / 2 << "\" y=\"38\""
      << " text-anchor=\"middle\">" << XmlEscape(data.x_label) << "</text>\n";
  svg << "<text class=\"axis-label\" x=\"" << left - 6 << "\" y=\"" << top - 8
      << "\" text-anchor=\"end\">" << XmlEscape(data.y_label) << "</text>\n";
  for (int x = 0; x < nx; ++x) {
    svg << "<text class=\"tick\" x=\"" << left + x * cell_w + cell_w / 2 << "\" y=\"" << top - 8
        << "\" text-anchor=\"middle\">" << XmlEscape(data.x_values[x]) << "</text>\n";
  }
  for (int y = 0; y < ny; ++y) {
    const int cy = top + y * cell_h;
    svg << "<text class=\"tick\" x=\"" << left - 6 << "\" y=\"" << cy + cell_h / 2
        << "\" text-anchor=\"end\" dominant-baseline=\"middle\">"
        << XmlEscape(Shorten(data.y_values[y], 30)) << "</text>\n";
    for (int x = 0; x < nx; ++x) {
      std::optional<double> value;
      if (y < static_cast<int>(data.cells.size()) && x < static_cast<int>(data.cells[y].size())) {
        value = data.cells[y][x];
      }
      const int cx = left + x * cell_w;
      const bool has = value && std::isfinite(*value);
      const double t = has ? fraction(*value) : 0;
      const std::string fill = has ? ScaleColor(t) : "#ddd";
      const std::string text = has ? CellText(*value) : "n/a";
      const char* ink = has && t < 0.6 ? "#fff" : "#000";
      svg << "<g class=\"cell\"><title>" << XmlEscape(data.x_label) << "="
          << XmlEscape(data.x_values[x]) << ", " << XmlEscape(data.y_label) << "="
          << XmlEscape(data.y_values[y]) << ": " << text << "</title><rect x=\"" << cx << "\" y=\""
          << cy << "\" width=\"" << cell_w << "\" height=\"" << cell_h << "\" fill=\"" << fill
          << "\" stroke=\"#fff\"/><text x=\"" << cx + cell_w / 2 << "\" y=\"" << cy + cell_h / 2
          << "\" text-anchor=\"middle\" "
          << "dominant-baseline=\"middle\" fill=\"" << ink << "\">" << text << "</text></g>\n";
    }
  }
  // Colour key: ten steps from the smallest value (top) to the largest.
  if (!values.empty()) {
    for (int i = 0; i < 10; ++i) {
      svg << "<rect x=\"" << key_left << "\" y=\"" << top + i * 14 << "\" width=\"16\" "
          << "height=\"14\" fill=\"" << ScaleColor(i / 9.0) << "\"/>\n";
    }
    svg << "<text class=\"tick\" x=\"" << key_left + 22 << "\" y=\"" << top + 7
        << "\" dominant-baseline=\"middle\">" << CellText(lo) << "</text>\n";
    svg << "<text class=\"tick\" x=\"" << key_left + 22 << "\" y=\"" << top + 9 * 14 + 7
        << "\" dominant-baseline=\"middle\">" << CellText(hi) << "</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace gridrun::cli
