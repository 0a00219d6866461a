// The launcher half of self-update (ARCHITECTURE §4 "Self-update"). The packaged
// /usr/bin/steward-updater is stable; when `run` starts, it first looks for a newer committed
// updater installed by a self-update (<state_dir>/components/steward-updater/current) and
// execs it in place. Every launch of a version is counted before the exec and the count is
// cleared once that version has started properly; a version that failed to start
// `max_attempts` times in a row is passed over for the previous one, and after that for the
// packaged binary itself. So a broken updater release cannot strand a host.
#pragma once

#include <filesystem>
#include <string>

#include "common/error.hpp"

namespace steward::updater {

inline constexpr std::string_view kUpdaterComponent = "steward-updater";
inline constexpr std::string_view kLaunchedEnv = "STEWARD_LAUNCHED";

struct LaunchChoice {
  std::filesystem::path binary;  // what to exec; equal to `self` means: go on in this process
  std::string reason;            // for the log: why this one
  bool passed_over = false;      // a newer version was skipped for failing to start
};

// Picks the binary to run and, when it is not `self`, counts the attempt (durably) in
// <state_dir>/components/steward-updater/launch-attempts.
Result<LaunchChoice> ChooseUpdaterBinary(const std::filesystem::path& state_dir,
                                         const std::filesystem::path& self, int max_attempts = 3);

// Called once the running updater started properly (local API up, journal replayed): clears
// the attempt count of `self`.
Result<void> MarkUpdaterStarted(const std::filesystem::path& state_dir,
                                const std::filesystem::path& self);

}  // namespace steward::updater
