// Time as an injected dependency: logic asks a Clock, never the system directly, so unit tests
// drive time with FakeClock and never sleep.
#pragma once

#include <chrono>
#include <mutex>

namespace steward {

using Duration = std::chrono::nanoseconds;
using WallTime = std::chrono::system_clock::time_point;
using MonoTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time: for timestamps and expiry checks only, it can jump.
  virtual WallTime Now() const = 0;
  // Monotonic time: for every interval, timeout and backoff.
  virtual MonoTime Monotonic() const = 0;
};

class SystemClock final : public Clock {
 public:
  WallTime Now() const override { return std::chrono::system_clock::now(); }
  MonoTime Monotonic() const override { return std::chrono::steady_clock::now(); }
  static SystemClock& Instance();
};

class FakeClock final : public Clock {
 public:
  FakeClock();
  WallTime Now() const override;
  MonoTime Monotonic() const override;
  // Moves both clocks forward.
  void Advance(Duration d);
  // Moves only the wall clock, as an NTP step or an operator's `date -s` would.
  void JumpWall(Duration d);

 private:
  mutable std::mutex mu_;
  WallTime wall_;
  MonoTime mono_;
};

}  // namespace steward
