// The one jitter of the project: periodic work (check-ins, restarts after backoff) spread by
// ±20 % so that a fleet restarted together does not keep acting in step.
#pragma once

#include <algorithm>
#include <chrono>

#include "common/clock.hpp"

namespace steward {

// `d` scaled by 1 + 0.2 × `uniform`, where `uniform` is drawn from [-1, 1] (clamped to it).
inline Duration Jittered(Duration d, double uniform) {
  return std::chrono::duration_cast<Duration>(d * (1.0 + 0.2 * std::clamp(uniform, -1.0, 1.0)));
}

}  // namespace steward
