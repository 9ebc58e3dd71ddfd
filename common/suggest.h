// "Did you mean" suggestions for unknown names in user input (grid specs,
// model files, CLI arguments). Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gridrun {

// The closest of `candidates` to `got` within edit distance 2, or "".
std::string Suggest(std::string_view got, const std::vector<std::string>& candidates);

// ", did you mean 'X'?" for a non-empty suggestion, else "".
std::string DidYouMean(const std::string& suggestion);

}  // namespace gridrun
