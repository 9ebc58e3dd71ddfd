// Turning exceptions thrown by LibTorch into short status messages: the one
// helper every models/ file uses where it catches a torch error at its
// boundary and returns an absl::Status instead.
// Thread-safety: a pure function.
#pragma once

#include <c10/util/Exception.h>

#include <exception>
#include <string>

namespace gridrun::models {

// The message of `e` for an absl::Status: for a c10::Error (what torch
// throws) its text without the C++ backtrace that what() appends; for any
// other exception, what(). Never throws.
inline std::string TorchMessage(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) {
    return c10_error->what_without_backtrace();
  }
  return e.what();
}

}  // namespace gridrun::models
