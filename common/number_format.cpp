// FormatShortestDouble: std::to_chars' shortest round-trip digits, laid out
// by Python's repr rule (common/number_format.h).
#include "common/number_format.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace gridrun {

std::string FormatShortestDouble(double value) {
  // Shortest scientific form first, to learn the decimal exponent.
  char buf[400];
  auto result = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::scientific);
  if (!std::isfinite(value)) return std::string(buf, result.ptr);
  const char* e = std::find(buf, result.ptr, 'e');
  int exponent = 0;
  std::from_chars(e + (e[1] == '+' ? 2 : 1), result.ptr, exponent);
  if (exponent >= -4 && exponent < 16) {
    result = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::fixed);
  }
  return std::string(buf, result.ptr);
}

}  // namespace gridrun
