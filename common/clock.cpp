#include "common/clock.hpp"

namespace steward {

SystemClock& SystemClock::Instance() {
  static SystemClock clock;
  return clock;
}

// A fixed, recognisable start: 2030-01-01T00:00:00Z, monotonic at an arbitrary 1000 s.
FakeClock::FakeClock()
    : wall_(std::chrono::sys_days{std::chrono::year{2030} / 1 / 1}),
      mono_(std::chrono::seconds{1000}) {}

WallTime FakeClock::Now() const {
  std::lock_guard lock(mu_);
  return wall_;
}

MonoTime FakeClock::Monotonic() const {
  std::lock_guard lock(mu_);
  return mono_;
}

void FakeClock::Advance(Duration d) {
  std::lock_guard lock(mu_);
  wall_ += std::chrono::duration_cast<WallTime::duration>(d);
  mono_ += std::chrono::duration_cast<MonoTime::duration>(d);
}

void FakeClock::JumpWall(Duration d) {
  std::lock_guard lock(mu_);
  wall_ += std::chrono::duration_cast<WallTime::duration>(d);
}

}  // namespace steward
