// ApiRouter: parses a route and its parameters, reads through a pooled
// ResultsReader, answers JSON (or a PNG).
#include "ui/api_router.h"

#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "ui/api_json.h"

namespace gridrun::ui {
namespace {

using coordinator::TrialFilter;
using coordinator::TrialsPageRequest;

ApiResponse Error(int status, const std::string& message) {
  return {status, "application/json", DumpJson({{"error", message}})};
}

ApiResponse FromStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return Error(404, std::string(status.message()));
    case absl::StatusCode::kInvalidArgument:
      return Error(400, std::string(status.message()));
    default:
      return Error(500, std::string(status.message()));
  }
}

ApiResponse Json(const nlohmann::json& value) { return {200, "application/json", DumpJson(value)}; }

std::string Param(const ApiRequest& request, const std::string& name,
                  const std::string& fallback = "") {
  auto it = request.params.find(name);
  return it == request.params.end() ? fallback : it->second;
}

std::vector<std::string> Params(const ApiRequest& request, const std::string& name) {
  std::vector<std::string> values;
  auto [begin, end] = request.params.equal_range(name);
  for (auto it = begin; it != end; ++it) values.push_back(it->second);
  return values;
}

absl::StatusOr<int64_t> IntParam(const ApiRequest& request, const std::string& name,
                                 std::optional<int64_t> fallback) {
  auto it = request.params.find(name);
  if (it == request.params.end()) {
    if (fallback) return *fallback;
    return absl::InvalidArgumentError(absl::StrCat("missing parameter '", name, "'"));
  }
  int64_t value = 0;
  if (!absl::SimpleAtoi(it->second, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter '", name, "' must be an integer, not '", it->second, "'"));
  }
  return value;
}

absl::StatusOr<std::string> RequiredParam(const ApiRequest& request, const std::string& name) {
  std::string value = Param(request, name);
  if (value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("missing parameter '", name, "'"));
  }
  return value;
}

absl::StatusOr<TrialsPageRequest> PageRequest(const ApiRequest& request) {
  TrialsPageRequest page;
  page.sort = Param(request, "sort", "number");
  page.descending = Param(request, "desc") == "1";
  const std::string states = Param(request, "state");
  if (!states.empty()) page.states = absl::StrSplit(states, ',', absl::SkipEmpty());
  ASSIGN_OR_RETURN(page.offset, IntParam(request, "offset", 0));
  ASSIGN_OR_RETURN(page.limit, IntParam(request, "limit", 100));
  const std::vector<std::string> keys = Params(request, "fk");
  const std::vector<std::string> ops = Params(request, "fo");
  const std::vector<std::string> values = Params(request, "fv");
  if (keys.size() != ops.size() || keys.size() != values.size()) {
    return absl::InvalidArgumentError("filters need fk, fo and fv the same number of times");
  }
  for (size_t i = 0; i < keys.size(); ++i) page.filters.push_back({keys[i], ops[i], values[i]});
  return page;
}

absl::StatusOr<ApiResponse> Route(ReaderPool::Lease& reader, const ApiRequest& request,
                                  const std::vector<std::string>& parts, int64_t now_ms) {
  // parts[0] == "api"
  if (parts.size() == 2 && parts[1] == "experiments") {
    ASSIGN_OR_RETURN(auto summaries, reader->ListExperiments(now_ms));
    nlohmann::json list = nlohmann::json::array();
    for (const auto& summary : summaries) list.push_back(SummaryJson(summary));
    return Json(list);
  }
  if (parts.size() < 3 || parts[1] != "experiments") {
    return Error(404, absl::StrCat("no API route ", request.path));
  }
  const std::string& experiment = parts[2];
  if (parts.size() == 3) {
    ASSIGN_OR_RETURN(auto outline, reader->ReadOutline(experiment, now_ms));
    return Json(OutlineJson(outline));
  }
  const std::string& what = parts[3];
  if (parts.size() == 4 && what == "trials") {
    ASSIGN_OR_RETURN(TrialsPageRequest page_request, PageRequest(request));
    ASSIGN_OR_RETURN(auto page, reader->ReadTrialsPage(experiment, page_request));
    return Json(TrialsPageJson(page, page_request.offset));
  }
  if (parts.size() == 4 && what == "curve") {
    ASSIGN_OR_RETURN(int64_t trial, IntParam(request, "trial", std::nullopt));
    ASSIGN_OR_RETURN(std::string metric, RequiredParam(request, "metric"));
    ASSIGN_OR_RETURN(int64_t points, IntParam(request, "points", kDefaultCurvePoints));
    if (points < 2 || points > kMaxCurvePoints) {
      return Error(400, absl::StrCat("points must be 2..", kMaxCurvePoints, ", not ", points));
    }
    ASSIGN_OR_RETURN(auto curve, reader->ReadCurve(experiment, trial, metric, points));
    return Json(CurveJson(curve));
  }
  if (parts.size() == 4 && what == "heatmap") {
    ASSIGN_OR_RETURN(std::string metric, RequiredParam(request, "metric"));
    ASSIGN_OR_RETURN(std::string x, RequiredParam(request, "x"));
    ASSIGN_OR_RETURN(std::string y, RequiredParam(request, "y"));
    ASSIGN_OR_RETURN(auto map, reader->ReadHeatMap(experiment, metric, x, y));
    return Json(HeatMapJson(map));
  }
  if ((parts.size() == 5 || parts.size() == 6) && what == "trials") {
    int64_t number = 0;
    if (!absl::SimpleAtoi(parts[4], &number)) {
      return Error(400, absl::StrCat("trial number must be an integer, not '", parts[4], "'"));
    }
    if (parts.size() == 5) {
      ASSIGN_OR_RETURN(auto detail, reader->ReadTrialDetail(experiment, number));
      return Json(TrialDetailJson(detail));
    }
    if (parts[5] == "sample") {
      ASSIGN_OR_RETURN(std::string name, RequiredParam(request, "name"));
      ASSIGN_OR_RETURN(int64_t step, IntParam(request, "step", std::nullopt));
      ASSIGN_OR_RETURN(std::string png, reader->ReadSamplePng(experiment, number, name, step));
      return ApiResponse{200, "image/png", std::move(png)};
    }
  }
  return Error(404, absl::StrCat("no API route ", request.path));
}

}  // namespace

bool ApiRouter::IsApiPath(const std::string& path) { return path.rfind("/api/", 0) == 0; }

ApiResponse ApiRouter::Handle(const ApiRequest& request) {
  if (!IsApiPath(request.path)) return Error(404, absl::StrCat("no API route ", request.path));
  std::vector<std::string> parts = absl::StrSplit(request.path.substr(1), '/');
  if (!parts.empty() && parts.back().empty()) parts.pop_back();  // a trailing '/'
  const int64_t now = now_ms_();
  if (parts.size() == 2 && parts[1] == "version") {
    absl::StatusOr<int64_t> version = pool_->ChangeCounter(now);
    if (!version.ok()) return FromStatus(version.status());
    return Json({{"version", *version}});
  }
  ReaderPool::Lease reader = pool_->Acquire();
  absl::StatusOr<ApiResponse> response = Route(reader, request, parts, now);
  if (!response.ok()) return FromStatus(response.status());
  return *std::move(response);
}

}  // namespace gridrun::ui
