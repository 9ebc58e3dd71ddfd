// Time sources. Everything that reasons about leases or deadlines takes a
// Clock so tests can drive time by hand (FakeClock).
//
// Thread-safety: SystemClock is stateless; FakeClock is safe to read and
// advance from several threads.
#pragma once

#include <atomic>
#include <cstdint>

namespace gridrun {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t NowMs() const = 0;
};

class SystemClock : public Clock {
 public:
  int64_t NowMs() const override;
  // The process-wide instance.
  static SystemClock* Get();
};

class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t start_ms = 1'700'000'000'000) : now_ms_(start_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  void AdvanceMs(int64_t delta_ms) { now_ms_ += delta_ms; }
  void SetMs(int64_t now_ms) { now_ms_ = now_ms; }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace gridrun
