#include "coordinator/compute_saved.h"

#include <cmath>

namespace gridrun::coordinator {

std::string ComputeSavedText(int64_t run, int64_t full) {
  std::string text =
      std::to_string(run) + " of " + std::to_string(full) + " trial-epochs run";
  if (full > 0 && run <= full) {
    const long saved = std::lround(100.0 * static_cast<double>(full - run) /
                                   static_cast<double>(full));
    text += " (" + std::to_string(saved) + "% saved by early stopping and reuse)";
  }
  return text;
}

}  // namespace gridrun::coordinator
