// Confinement for a process that handles what the network sends (the updater's HTTP helper).
#pragma once

#include "common/error.hpp"

namespace steward::sandbox {

// The kernel's Landlock ABI version; 0 when the kernel has none (or it is disabled).
int LandlockAbi();

// From now on, for the calling process and whatever it starts: no file or directory is written,
// created, truncated, removed, renamed or linked, and nothing is executed, anywhere; with
// Landlock ABI 6 or newer also no signal to, and no abstract unix socket of, a process outside
// it. Reading files and network connections stay allowed. Sets no_new_privs. Returns the ABI
// applied; `unsupported` when the kernel has no Landlock (then nothing is confined).
Result<int> ConfineToReading();

}  // namespace steward::sandbox
