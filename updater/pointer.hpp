// The platform seam of the on-disk layout: a component's `current` and `previous` pointers,
// each naming one version directory, read and switched atomically (a crash leaves the old
// target or the new one, never neither). Paths come from layout.hpp. POSIX: a relative
// symlink replaced by rename (pointer_posix.cpp); a port brings its own <name>_<platform>.cpp.
#pragma once

#include <filesystem>
#include <string>

#include "common/error.hpp"

namespace steward::updater {

// The last name of what `pointer` points at (a version directory's name); "" when there is no
// pointer or it cannot be read.
std::string ReadPointer(const std::filesystem::path& pointer);

// Points `pointer` at `target` (relative to the pointer's directory) in one atomic step, or
// removes it when `target` is empty. With `sync` the pointer's directory is fsynced.
Result<void> SwitchPointer(const std::filesystem::path& pointer,
                           const std::filesystem::path& target, bool sync);

}  // namespace steward::updater
