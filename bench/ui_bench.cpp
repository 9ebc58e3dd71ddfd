// Dashboard speed at scale: serves a database with `gridrun ui`'s server
// (ui/web_server.h) on loopback and times, over HTTP, the API requests the
// app makes for its pages, on the synthetic 100,000-trial / 10,000,000-point
// database of gridrun-bench-make-query-db (experiment "synthetic"); then
// times the curve downsampling of a 1,000,000-point series in memory.
//
//   gridrun-bench-ui --db q.db [--rounds 5]
//
// Prints a markdown table: request, response bytes, median and max seconds.
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "coordinator/curve_downsample.h"
#include "ui/web_server.h"

namespace {

struct Timing {
  double median = 0, max = 0;
  size_t bytes = 0;
  int status = 0;
};

Timing Time(httplib::Client& client, const std::string& path, int rounds) {
  std::vector<double> seconds;
  Timing timing;
  for (int i = 0; i < rounds; ++i) {
    const double t0 = gridrun::bench::NowSeconds();
    auto response = client.Get(path.c_str());
    seconds.push_back(gridrun::bench::NowSeconds() - t0);
    timing.status = response ? response->status : -1;
    timing.bytes = response ? response->body.size() : 0;
  }
  std::sort(seconds.begin(), seconds.end());
  timing.median = seconds[seconds.size() / 2];
  timing.max = seconds.back();
  return timing;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dashboard API speed on a large database"};
  std::string db;
  int rounds = 5;
  std::string experiment = "synthetic";
  app.add_option("--db", db, "the database (gridrun-bench-make-query-db)")->required();
  app.add_option("--rounds", rounds, "requests per row")->check(CLI::Range(1, 1000));
  app.add_option("--experiment", experiment, "experiment name")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  gridrun::ui::WebServerOptions options;
  options.db_path = db;
  options.listen = "127.0.0.1:0";
  options.requests_per_second = 1e9;
  options.burst = 1e9;
  auto server = gridrun::ui::WebServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "gridrun-bench-ui: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  httplib::Client client("127.0.0.1", (*server)->port());
  client.set_read_timeout(120, 0);
  const std::string e = "/api/experiments/" + experiment;
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"experiments page: `/api/experiments`", "/api/experiments"},
      {"experiment page: outline (axes, metrics, samples)", e},
      {"trials table: first 50 rows by number", e + "/trials?limit=50"},
      {"trials table: rows 50,000-50,049 sorted by metric test/loss",
       e + "/trials?sort=metric:test/loss&offset=50000&limit=50"},
      {"trials table: sorted by param lr, descending", e + "/trials?sort=param:lr&desc=1&limit=50"},
      {"trials table: filter latent_size = 2 and test/loss < 5",
       e + "/trials?fk=param:latent_size&fo=%3D&fv=2&fk=metric:test/loss&fo=%3C&fv=5&limit=50"},
      {"curve of one trial (25 points)", e + "/curve?trial=77777&metric=test/loss"},
      {"heat map of test/loss over latent_size x kl_weight",
       e + "/heatmap?metric=test/loss&x=latent_size&y=kl_weight"},
      {"parallel coordinates: best 2,000 trials by test/loss",
       e + "/trials?sort=metric:test/loss&limit=2000"},
      {"change check `/api/version`", "/api/version"},
  };
  std::printf("| request | bytes | median s | max s |\n|---|---|---|---|\n");
  for (const auto& [label, path] : rows) {
    const Timing t = Time(client, path, rounds);
    if (t.status != 200) {
      std::fprintf(stderr, "gridrun-bench-ui: %s answered %d\n", path.c_str(), t.status);
      return 1;
    }
    std::printf("| %s | %zu | %.3f | %.3f |\n", label.c_str(), t.bytes, t.median, t.max);
  }

  std::vector<gridrun::coordinator::MetricSample> points;
  for (int i = 0; i < 1'000'000; ++i) points.push_back({i, i / 1000, std::sin(i / 1000.0)});
  const double t0 = gridrun::bench::NowSeconds();
  const auto kept = gridrun::coordinator::DownsampleMinMax(points, 2000);
  std::printf("| downsampling 1,000,000 points to %zu (in memory) | - | %.3f | - |\n", kept.size(),
              gridrun::bench::NowSeconds() - t0);
  return 0;
}
