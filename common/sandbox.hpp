// Confinement for a process that handles what the network sends (the updater's HTTP helper).
#pragma once

#include "common/error.hpp"

namespace steward::sandbox {

// The kernel's Landlock ABI version; 0 when the kernel has none (or it is disabled).
int LandlockAbi();

// From now on, for the calling process (all of whose threads must start after this):
// - every capability is dropped (bounding, ambient, permitted, effective) and no_new_privs set:
//   even as root it cannot load modules, reboot, chown, or pass file permission checks;
// - a seccomp filter (x86_64, arm64) fails chmod, chown, utimes and xattr calls with EPERM:
//   file metadata, which Landlock does not cover;
// - Landlock: no file or directory is written, created, removed, renamed or linked, and nothing
//   is executed, anywhere; from ABI 3 (Linux 6.2) nothing truncated; from ABI 6 (Linux 6.12) no
//   signal to, and no abstract unix socket of, a process outside it.
// Reading files and network connections stay allowed. Not covered: before ABI 6, signals to
// processes of its user. Returns the Landlock ABI applied; `unsupported` when the kernel has no
// Landlock (then only the capabilities and the metadata calls are taken away).
Result<int> ConfineToReading();

}  // namespace steward::sandbox
