// Unit tests of the report builders: SVG charts (escaping, scales, ticks,
// geometry), heat maps, base64, and the HTML report assembled from an
// in-memory ExperimentResults (sections, escaping, self-containedness,
// heat-map choice).
#include "cli/report_html.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "cli/svg_chart.h"

namespace gridrun::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// ---- svg_chart ----

TEST(CliSvgChartTest, XmlEscapeEscapesEverySpecialCharacter) {
  EXPECT_EQ(XmlEscape("a<b>&\"c'd"), "a&lt;b&gt;&amp;&quot;c&#39;d");
  EXPECT_EQ(XmlEscape("plain text 1.5"), "plain text 1.5");
  EXPECT_EQ(XmlEscape(""), "");
}

TEST(CliSvgChartTest, LogScaleOnlyForPositiveValuesSpanningMoreThanTwoDecades) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Case {
    std::vector<double> values;
    bool log;
  } cases[] = {
      {{}, false},         {{1, 100}, false},  // exactly two decades
      {{1, 100.5}, true},  {{0.5, 1000}, true},    {{0, 1000}, false},
      {{-1, 1000}, false}, {{nan, 1, 1000}, true}, {{5, 5, 5}, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ShouldUseLogScale(c.values), c.log) << ::testing::PrintToString(c.values);
  }
}

TEST(CliSvgChartTest, LinearTicksAreRoundAndCoverTheRange) {
  EXPECT_THAT(LinearTicks(3, 97), ElementsAre(0, 20, 40, 60, 80, 100));
  EXPECT_THAT(LinearTicks(0, 1000), ElementsAre(0, 200, 400, 600, 800, 1000));
  const std::vector<double> small = LinearTicks(0.013, 0.087);
  ASSERT_GE(small.size(), 3u);
  EXPECT_LE(small.front(), 0.013);
  EXPECT_GE(small.back(), 0.087);
  EXPECT_LE(small.size(), 8u);
  const std::vector<double> negative = LinearTicks(-7.5, 2.5);
  EXPECT_LE(negative.front(), -7.5);
  EXPECT_GE(negative.back(), 2.5);
  for (double tick : negative) EXPECT_EQ(TickLabel(tick).find("e-1"), std::string::npos);
}

TEST(CliSvgChartTest, LogTicksArePowersOfTen) {
  EXPECT_THAT(LogTicks(0.5, 1000), ElementsAre(0.1, 1, 10, 100, 1000));
  EXPECT_THAT(LogTicks(1, 100), ElementsAre(1, 10, 100));
  EXPECT_THAT(LogTicks(3, 3), ElementsAre(1, 10));
  EXPECT_EQ(TickLabel(1e6), "1e+06");
  EXPECT_EQ(TickLabel(0.001), "0.001");
  EXPECT_EQ(TickLabel(250), "250");
}

TEST(CliSvgChartTest, LineChartDrawsOnePolylinePerSeriesInsideThePlot) {
  std::vector<ChartSeries> series = {
      {"latent_size=2 <a&b>", "#1f77b4", {{1, 3.0}, {2, 2.0}, {3, 1.5}}},
      {"latent_size=4", "#ff7f0e", {{1, 4.0}, {2, 2.5}, {3, std::nan("")}}},
      {"only NaN", "#2ca02c", {{1, std::nan("")}}},
  };
  LineChartOptions options;
  options.title = "loss/total <x>";
  options.x_label = "epoch";
  options.y_label = "loss/total";
  const std::string svg = RenderLineChart(series, options);
  EXPECT_THAT(svg, HasSubstr("<svg class=\"chart\" data-scale=\"linear\""));
  EXPECT_EQ(Count(svg, "<polyline"), 2u);  // the all-NaN series is left out
  EXPECT_THAT(svg, HasSubstr("latent_size=2 &lt;a&amp;b&gt;"));
  EXPECT_THAT(svg, HasSubstr("loss/total &lt;x&gt;"));
  EXPECT_THAT(svg, Not(HasSubstr("<a&b>")));
  EXPECT_THAT(svg, Not(HasSubstr("only NaN")));
  EXPECT_THAT(svg, Not(HasSubstr("http")));
  // Every vertex lies in the plot area (x 72..592, y 30..290 by default).
  std::regex points_attr("points=\"([^\"]*)\"");
  std::regex vertex("(-?[0-9.]+),(-?[0-9.]+)");
  size_t vertices = 0;
  for (std::sregex_iterator it(svg.begin(), svg.end(), points_attr), end; it != end; ++it) {
    const std::string points = (*it)[1];
    for (std::sregex_iterator v(points.begin(), points.end(), vertex); v != end; ++v) {
      const double x = std::stod((*v)[1]), y = std::stod((*v)[2]);
      EXPECT_GE(x, 72);
      EXPECT_LE(x, 592);
      EXPECT_GE(y, 30);
      EXPECT_LE(y, 290);
      ++vertices;
    }
  }
  EXPECT_EQ(vertices, 5u);  // 3 + 2 finite points
}

TEST(CliSvgChartTest, LineChartUsesLogScaleAcrossDecades) {
  std::vector<ChartSeries> series = {{"a", "#000", {{0, 1000}, {1, 10}, {2, 0.5}}}};
  const std::string svg = RenderLineChart(series, {});
  EXPECT_THAT(svg, HasSubstr("data-scale=\"log\""));
  EXPECT_THAT(svg, HasSubstr("(log scale)"));
  // Tick labels are the powers of ten 0.1 .. 1000.
  for (const char* label : {">0.1<", ">1<", ">10<", ">100<", ">1000<"}) {
    EXPECT_THAT(svg, HasSubstr(label));
  }
}

TEST(CliSvgChartTest, LineChartHandlesSinglePointsAndNoData) {
  const std::string one = RenderLineChart({{"solo", "#000", {{5, 2}}}}, {});
  EXPECT_EQ(Count(one, "<circle"), 1u);
  EXPECT_EQ(Count(one, "<polyline"), 0u);
  const std::string none = RenderLineChart({}, {});
  EXPECT_THAT(none, HasSubstr("no data"));
  EXPECT_THAT(none, HasSubstr("</svg>"));
}

TEST(CliSvgChartTest, LineChartThinsLongSeriesKeepingTheLastPoint) {
  ChartSeries long_series{"many", "#000", {}};
  for (int i = 0; i < 10'000; ++i) long_series.points.emplace_back(i, 1.0 + i % 7);
  LineChartOptions options;
  options.max_points = 100;
  const std::string svg = RenderLineChart({long_series}, options);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(svg, m, std::regex("points=\"([^\"]*)\"")));
  const std::string points = m[1];
  EXPECT_LE(Count(points, ","), 101u);
  EXPECT_GE(Count(points, ","), 100u);
}

TEST(CliSvgChartTest, HeatMapColoursCellsAndPrintsValues) {
  HeatMapData data;
  data.title = "fid by <x>";
  data.x_label = "latent_size";
  data.y_label = "kl_weight";
  data.x_values = {"2", "64"};
  data.y_values = {"1", "0.5&"};
  data.cells = {{12.5, 30.25}, {std::nullopt, 7.125}};
  const std::string svg = RenderHeatMap(data);
  EXPECT_THAT(svg, HasSubstr("<svg class=\"heatmap\" data-scale=\"linear\""));
  EXPECT_EQ(Count(svg, "<g class=\"cell\">"), 4u);
  EXPECT_THAT(svg, HasSubstr(">12.5</text>"));
  EXPECT_THAT(svg, HasSubstr(">30.25</text>"));
  EXPECT_THAT(svg, HasSubstr(">7.125</text>"));
  EXPECT_THAT(svg, HasSubstr(">n/a</text>"));
  EXPECT_THAT(svg, HasSubstr("fid by &lt;x&gt;"));
  EXPECT_THAT(svg, HasSubstr("0.5&amp;"));
  // The smallest value gets the darkest colour, the largest the lightest.
  EXPECT_TRUE(std::regex_search(
      svg, std::regex("fill=\"#440154\" stroke=\"#fff\"/><text[^>]*>7.125</text>")));
  EXPECT_TRUE(std::regex_search(
      svg, std::regex("fill=\"#fde725\" stroke=\"#fff\"/><text[^>]*>30.25</text>")));
}

// ---- report_html ----

// The data: URIs use absl::Base64Escape: standard RFC 4648 base64, padded.
TEST(CliReportHtmlTest, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(absl::Base64Escape(""), "");
  EXPECT_EQ(absl::Base64Escape("f"), "Zg==");
  EXPECT_EQ(absl::Base64Escape("fo"), "Zm8=");
  EXPECT_EQ(absl::Base64Escape("foo"), "Zm9v");
  EXPECT_EQ(absl::Base64Escape("foob"), "Zm9vYg==");
  EXPECT_EQ(absl::Base64Escape("fooba"), "Zm9vYmE=");
  EXPECT_EQ(absl::Base64Escape("foobar"), "Zm9vYmFy");
  EXPECT_EQ(absl::Base64Escape(std::string("\xff\x00\x80", 3)), "/wCA");
}

ExperimentResults SampleResults() {
  ExperimentResults r;
  r.experiment_id = "exp-1234";
  r.name = "vae <sweep> & \"friends\"";
  r.status = "ACTIVE";
  r.spec_yaml = "experiment: x\n# <b>not bold</b>\n";
  r.created_ms = 1'700'000'000'000;
  r.axes = {"latent_size", "kl_weight", "width"};
  r.axis_values = {{"latent_size", {"2", "64"}}, {"kl_weight", {"1", "0.5"}}, {"width", {"500"}}};
  int64_t id = 1;
  for (const std::string& latent : r.axis_values["latent_size"]) {
    for (const std::string& kl : r.axis_values["kl_weight"]) {
      TrialResults t;
      t.trial_id = id;
      t.number = id - 1;
      t.state = "COMPLETE";
      t.params = {{"latent_size", latent}, {"kl_weight", kl}, {"width", "500"}};
      for (int epoch = 1; epoch <= 3; ++epoch) {
        const double elbo = 1000.0 / std::pow(10.0, epoch) * id;  // 100*id .. 1*id
        t.series["test/neg_elbo"].push_back({epoch * 100, epoch, elbo});
        t.series["loss/total"].push_back({epoch * 100 - 50, epoch, 5.0 - epoch});
        t.series["loss/total"].push_back({epoch * 100, epoch, 4.5 - epoch});
      }
      t.last_metrics["test/neg_elbo"] = id;
      t.last_metrics["loss/total"] = 1.5;
      t.samples.push_back({"samples", 100, 1, "PNG1", 1, 1});
      t.samples.push_back({"samples", 300, 3, "PNG3", 1, 1});
      r.trials.push_back(std::move(t));
      ++id;
    }
  }
  r.trials[3].state = "FAILED";
  r.trials[3].error = "CUDA <oom> & more";
  return r;
}

TEST(CliReportHtmlTest, ReportHasEverySectionAndNoUrls) {
  auto html = RenderReportHtml(SampleResults(), {});
  ASSERT_TRUE(html.ok()) << html.status();
  EXPECT_TRUE(html->starts_with("<!DOCTYPE html>"));
  for (const char* section :
       {"id=\"summary\"", "id=\"results\"", "id=\"curves\"", "id=\"samples\"", "id=\"heatmap\"",
        "id=\"environments\""}) {
    EXPECT_THAT(*html, HasSubstr(section));
  }
  EXPECT_EQ(Count(*html, "<svg class=\"chart\""), 2u);  // loss/total, test/neg_elbo
  EXPECT_EQ(Count(*html, "<svg class=\"heatmap\""), 1u);
  EXPECT_EQ(Count(*html, "<img class=\"sample\""), 8u);  // 4 trials x 2 epochs
  EXPECT_THAT(*html, HasSubstr("src=\"data:image/png;base64," + absl::Base64Escape("PNG1") + "\""));
  EXPECT_THAT(*html, HasSubstr("<th>epoch 1</th><th>epoch 3</th>"));
  // Self-contained: no URL, no script, no external reference of any kind.
  for (const char* forbidden : {"http:", "https:", "<script", "url(", "<link", "@import"}) {
    EXPECT_THAT(*html, Not(HasSubstr(forbidden))) << forbidden;
  }
  std::regex src("src=\"([^\"]*)\"");
  for (std::sregex_iterator it(html->begin(), html->end(), src), end; it != end; ++it) {
    EXPECT_TRUE((*it)[1].str().starts_with("data:image/png;base64,")) << (*it)[1];
  }
}

TEST(CliReportHtmlTest, ListsWhereEachAttemptRan) {
  ExperimentResults r = SampleResults();
  auto none = RenderReportHtml(r, {});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(*none, HasSubstr("No attempt has been recorded yet."));

  r.trials[1].attempts.push_back(
      {r.trials[1].trial_id, 1, "w-old", "", 1000});  // an older worker: unknown
  r.trials[1].attempts.push_back(
      {r.trials[1].trial_id, 2, "w-<2>",
       R"({"gridrun_version":"0.1.0","build_commit":"abc1234","torch_version":"1.13.1",)"
       R"("blas":["/usr/lib/libopenblas.so.0"],"mpi":"Open MPI v4.1.4","cuda":"none",)"
       R"("nccl":"none","hosts":["node-a"],)"
       R"("ranks":[{"rank":0,"host":"node-a","device":"cpu"},{"rank":1,"host":"node-a","device":"cpu"}]})",
       2000});
  auto html = RenderReportHtml(r, {});
  ASSERT_TRUE(html.ok()) << html.status();
  EXPECT_THAT(*html, HasSubstr("<h2>Where trials ran</h2>"));
  EXPECT_THAT(*html, HasSubstr("<th>gridrun</th><th>commit</th><th>libtorch</th><th>blas</th>"
                               "<th>mpi</th><th>cuda</th><th>nccl</th><th>hosts</th><th>ranks</th>"));
  EXPECT_THAT(*html, HasSubstr("<td>w-old</td><td>unknown</td><td>unknown</td>"));
  EXPECT_THAT(*html, HasSubstr("<td>w-&lt;2&gt;</td><td>0.1.0</td><td>abc1234</td><td>1.13.1</td>"
                               "<td>/usr/lib/libopenblas.so.0</td><td>Open MPI v4.1.4</td>"));
  EXPECT_THAT(*html, HasSubstr("<td>rank 0: node-a cpu; rank 1: node-a cpu</td>"));
  EXPECT_EQ(Count(*html, "<tr><td class=\"num\">" + std::to_string(r.trials[1].number) +
                             "</td><td class=\"num\">"),
            2u);
}

TEST(CliReportHtmlTest, EveryStringFromTheDatabaseIsEscaped) {
  ExperimentResults r = SampleResults();
  r.trials[0].params["latent_size"] = "<img src=x onerror=alert(1)>";
  r.trials[0].series["<script>alert(1)</script>"] = {{1, 1, 1.0}, {2, 2, 2.0}};
  r.trials[0].last_metrics["<script>alert(1)</script>"] = 2.0;
  r.trials[0].samples.push_back({"<b>bold</b>", 5, 1, "X", 1, 1});
  auto html = RenderReportHtml(r, {});
  ASSERT_TRUE(html.ok()) << html.status();
  EXPECT_THAT(*html, Not(HasSubstr("<script")));
  EXPECT_THAT(*html, Not(HasSubstr("<img src=x")));
  EXPECT_THAT(*html, Not(HasSubstr("<b>")));
  EXPECT_THAT(*html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(*html, HasSubstr("&lt;img src=x onerror=alert(1)&gt;"));
  EXPECT_THAT(*html, HasSubstr("&lt;b&gt;bold&lt;/b&gt;"));
  EXPECT_THAT(*html, HasSubstr("vae &lt;sweep&gt; &amp; &quot;friends&quot;"));
  EXPECT_THAT(*html, HasSubstr("CUDA &lt;oom&gt; &amp; more"));
  EXPECT_THAT(*html, HasSubstr("# &lt;b&gt;not bold&lt;/b&gt;"));
}

TEST(CliReportHtmlTest, CurvesUseEpochsForPerEpochMetricsAndLogScaleAcrossDecades) {
  auto html = RenderReportHtml(SampleResults(), {});
  ASSERT_TRUE(html.ok());
  // test/neg_elbo: one point per epoch, values 1..400: epoch axis, log scale.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(*html, m,
                                std::regex("<svg class=\"chart\" data-scale=\"(\\w+)\"[^>]*>\n"
                                           "<title>test/neg_elbo</title>[\\s\\S]*?</svg>")));
  EXPECT_EQ(m[1], "log");
  EXPECT_THAT(m[0].str(), HasSubstr(">epoch</text>"));
  // loss/total: two points per epoch: step axis, linear.
  ASSERT_TRUE(std::regex_search(*html, m,
                                std::regex("<svg class=\"chart\" data-scale=\"(\\w+)\"[^>]*>\n"
                                           "<title>loss/total</title>[\\s\\S]*?</svg>")));
  EXPECT_EQ(m[1], "linear");
  EXPECT_THAT(m[0].str(), HasSubstr(">step</text>"));
  EXPECT_EQ(Count(m[0].str(), "<polyline"), 4u);
}

TEST(CliReportHtmlTest, HeatMapDefaultsToFirstKnownMetricAndVaryingAxes) {
  ExperimentResults r = SampleResults();
  auto choice = ChooseHeatMap(r, {});
  ASSERT_TRUE(choice.ok());
  EXPECT_EQ(choice->metric, "test/neg_elbo");  // no fid; before loss/total
  EXPECT_EQ(choice->x_axis, "latent_size");
  EXPECT_EQ(choice->y_axis, "kl_weight");  // width has a single value
  r.trials[0].last_metrics["fid"] = 3;
  EXPECT_EQ(ChooseHeatMap(r, {})->metric, "fid");

  ReportOptions options;
  options.heatmap_metric = "loss/total";
  options.x_axis = "kl_weight";
  choice = ChooseHeatMap(r, options);
  ASSERT_TRUE(choice.ok());
  EXPECT_EQ(choice->metric, "loss/total");
  EXPECT_EQ(choice->x_axis, "kl_weight");
  EXPECT_EQ(choice->y_axis, "latent_size");
  auto html = RenderReportHtml(r, options);
  ASSERT_TRUE(html.ok());
  EXPECT_THAT(*html, HasSubstr("loss/total by kl_weight and latent_size"));
}

TEST(CliReportHtmlTest, HeatMapCellsHoldTheTrialsValues) {
  auto html = RenderReportHtml(SampleResults(), {});
  ASSERT_TRUE(html.ok());
  // test/neg_elbo last values are the trial ids 1..4.
  const size_t start = html->find("<svg class=\"heatmap\"");
  ASSERT_NE(start, std::string::npos);
  const std::string heatmap = html->substr(start, html->find("</svg>", start) - start);
  for (const char* value : {">1</text>", ">2</text>", ">3</text>", ">4</text>"}) {
    EXPECT_THAT(heatmap, HasSubstr(value));
  }
  EXPECT_THAT(heatmap, HasSubstr("latent_size=64, kl_weight=0.5: 4"));
}

TEST(CliReportHtmlTest, HeatMapErrorsNameWhatExists) {
  ExperimentResults r = SampleResults();
  ReportOptions options;
  options.heatmap_metric = "fid";
  auto choice = ChooseHeatMap(r, options);
  ASSERT_FALSE(choice.ok());
  EXPECT_THAT(std::string(choice.status().message()),
              HasSubstr("has no metric 'fid'; its metrics: loss/total, test/neg_elbo"));
  options = {};
  options.y_axis = "depth";
  choice = ChooseHeatMap(r, options);
  ASSERT_FALSE(choice.ok());
  EXPECT_THAT(std::string(choice.status().message()),
              HasSubstr("--y: experiment 'vae <sweep> & \"friends\"' has no grid axis 'depth'; "
                        "its axes: latent_size, kl_weight, width"));
  options = {};
  options.x_axis = options.y_axis = "latent_size";
  EXPECT_FALSE(ChooseHeatMap(r, options).ok());
  EXPECT_FALSE(RenderReportHtml(r, options).ok());
}

TEST(CliReportHtmlTest, NoHeatMapWithoutVaryingAxesOrMetrics) {
  ExperimentResults r = SampleResults();
  r.trials.resize(1);
  r.axis_values = {{"latent_size", {"2"}}, {"kl_weight", {"1"}}, {"width", {"500"}}};
  auto html = RenderReportHtml(r, {});
  ASSERT_TRUE(html.ok());
  EXPECT_THAT(*html, Not(HasSubstr("<svg class=\"heatmap\"")));
  EXPECT_THAT(*html, HasSubstr("No grid axis has more than one value"));
  r.trials[0].series.clear();
  r.trials[0].last_metrics.clear();
  r.trials[0].samples.clear();
  html = RenderReportHtml(r, {});
  ASSERT_TRUE(html.ok());
  EXPECT_THAT(*html, HasSubstr("No metric points recorded yet."));
  EXPECT_THAT(*html, HasSubstr("No sample images recorded yet."));
  EXPECT_THAT(*html, HasSubstr("No metric recorded yet, so no heat map."));
}

TEST(CliReportHtmlTest, MetricNamesPutKeyMetricsFirst) {
  ExperimentResults r;
  TrialResults t;
  t.last_metrics = {{"zeta", 1}, {"fid", 2}, {"alpha", 3}, {"loss/total", 4}};
  r.trials.push_back(t);
  EXPECT_THAT(MetricNames(r), ElementsAre("loss/total", "fid", "alpha", "zeta"));
}

}  // namespace
}  // namespace gridrun::cli
