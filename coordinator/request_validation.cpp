#include "coordinator/request_validation.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"

namespace gridrun::coordinator {
namespace {

bool AllCharsIn(const std::string& text, std::string_view extra) {
  for (char c : text) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && extra.find(c) == std::string_view::npos) return false;
  }
  return true;
}

std::string Quote(const std::string& text) {
  constexpr size_t kShown = 40;
  if (text.size() <= kShown) return absl::StrCat("'", text, "'");
  return absl::StrCat("'", text.substr(0, kShown), "...' (", text.size(), " characters)");
}

}  // namespace

absl::Status ValidatePositiveId(const std::string& field, int64_t value) {
  if (value > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": must be a positive integer (got ", value, ")"));
}

absl::Status ValidateNonNegative(const std::string& field, int64_t value) {
  if (value >= 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, ": must be >= 0 (got ", value, ")"));
}

absl::Status ValidateAttempt(int32_t attempt) {
  if (attempt >= 1) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("attempt: must be >= 1, the attempt number of the lease (got ", attempt, ")"));
}

absl::Status ValidateWorkerId(const std::string& worker_id) {
  if (!worker_id.empty() && worker_id.size() <= 128 && AllCharsIn(worker_id, "_.:-")) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "worker_id: must be 1-128 characters of [A-Za-z0-9_.:-] (got ", Quote(worker_id), ")"));
}

absl::Status ValidateMetricName(const std::string& field, const std::string& name) {
  if (!name.empty() && name.size() <= 128 && AllCharsIn(name, "_./-")) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": must be 1-128 characters of [A-Za-z0-9_./-] (got ", Quote(name), ")"));
}

absl::Status ValidateFinite(const std::string& field, double value) {
  if (std::isfinite(value)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, ": must be finite (got ", value, ")"));
}

absl::Status ValidateExperimentRef(const std::string& field, const std::string& ref) {
  if (!ref.empty() && ref.size() <= 128) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": must be an experiment id or name of 1-128 characters (got ",
                   Quote(ref), ")"));
}

absl::Status ValidatePng(const std::string& field, const std::string& bytes) {
  static const std::string kSignature("\x89PNG\r\n\x1a\n", 8);
  if (static_cast<int64_t>(bytes.size()) > kMaxSampleBytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", bytes.size(),
                                                   " bytes is larger than the limit of ",
                                                   kMaxSampleBytes, " bytes"));
  }
  if (bytes.compare(0, kSignature.size(), kSignature) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not a PNG image (bad signature)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateSha256Hex(const std::string& field, const std::string& hex) {
  bool ok = hex.size() == 64;
  for (char c : hex) ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": must be 64 lowercase hex characters (got ", Quote(hex), ")"));
}

}  // namespace gridrun::coordinator
