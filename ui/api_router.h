// ApiRouter: the dashboard's JSON API, independent of the HTTP transport
// (ui/web_server.h feeds it decoded requests; tests call it directly). Every
// route is a read through the ReaderPool; nothing from the request becomes
// SQL (coordinator/results_reader.h binds every value). Routes, all GET:
//
//   /api/version                          {"version": N}: grows when the db changed
//   /api/experiments                      [summary, ...] newest first
//   /api/experiments/E                    outline: summary, axes, metrics, samples
//   /api/experiments/E/trials             {"total", "offset", "rows"}; query:
//        sort=KEY desc=1 state=S,S offset=N limit=N (1..5000, default 100)
//        fk=KEY&fo=OP&fv=VALUE (repeated: filters, all must hold)
//   /api/experiments/E/trials/N           one trial in full
//   /api/experiments/E/trials/N/sample    image/png; query: name=, step=
//   /api/experiments/E/curve              trial=N metric=M points=P (<= 5000, default 2000)
//   /api/experiments/E/heatmap            metric=M x=AXIS y=AXIS
//
// KEY: number, state, attempt, worker, param:NAME, metric:NAME. E: id or
// name. Errors: {"error": "..."} with 400 (bad parameter), 404 (no such
// route, experiment, trial or sample), 500 (storage).
//
// Thread-safety: Handle may be called from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "ui/reader_pool.h"

namespace gridrun::ui {

struct ApiRequest {
  std::string path;                                // decoded, without the query
  std::multimap<std::string, std::string> params;  // decoded query parameters
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class ApiRouter {
 public:
  // `pool` must outlive the router; `now_ms` gives the wall clock (prices
  // running trials' compute).
  ApiRouter(ReaderPool* pool, std::function<int64_t()> now_ms)
      : pool_(pool), now_ms_(std::move(now_ms)) {}

  // Whether `path` is an API path (starts with /api/).
  static bool IsApiPath(const std::string& path);

  ApiResponse Handle(const ApiRequest& request);

 private:
  ReaderPool* pool_;
  std::function<int64_t()> now_ms_;
};

// Default and largest number of points per curve the API returns.
inline constexpr int64_t kDefaultCurvePoints = 2000;
inline constexpr int64_t kMaxCurvePoints = 5000;

}  // namespace gridrun::ui
