// Reading how a POSIX process ended: the raw status waitpid() returns, decoded once, here.
#pragma once

#include "updater/exit_status.hpp"

namespace steward::updater {

// The exit code or terminating signal of a raw waitpid() status.
ProcessEnd ProcessEndFromWaitStatus(int wait_status);

}  // namespace steward::updater
