// Number formatting shared by the spec parser, stored trial parameters and
// the CLI's tables: the shortest text of a double that reads back to it.
// Thread-safe: pure functions.
#pragma once

#include <string>

namespace gridrun {

// The fewest digits that read back to the same double, positional for
// decimal exponents -4..15 and scientific otherwise, as Python's repr but
// without a trailing ".0": "0.001", "0.0002", "1", "0.30000000000000004",
// "1e-05", "1e+16". Infinities and NaN come out as "inf", "-inf", "nan".
std::string FormatShortestDouble(double value);

}  // namespace gridrun
