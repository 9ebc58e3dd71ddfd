// SHA-256 digests as lowercase hex, for config hashes and checkpoint
// integrity. Thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gridrun {

// Hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// Incremental form for streamed data (checkpoint chunks).
class Sha256Builder {
 public:
  Sha256Builder();
  ~Sha256Builder();
  Sha256Builder(const Sha256Builder&) = delete;
  Sha256Builder& operator=(const Sha256Builder&) = delete;

  void Update(std::string_view data);
  // Returns the hex digest; the builder must not be updated afterwards.
  std::string FinishHex();

 private:
  struct State;
  State* state_;
};

}  // namespace gridrun
