// Executable-format check for downloaded artifacts: before a release is installed its bytes
// must be an executable for this host (ELF magic, class, byte order, type and machine), so a
// wrong-architecture build or an error page that happens to hash right never gets installed.
#pragma once

#include <filesystem>
#include <string_view>

#include "common/error.hpp"

namespace steward::updater {

// Checks the first bytes of a file (at least the 64-byte ELF header) against `platform`
// ("linux-x86_64", "linux-aarch64", …). exec_format with what was found and what was expected;
// unsupported for platforms this check does not know.
Result<void> CheckExecutableHeader(std::string_view header, std::string_view platform);

// Reads the header of `path` and checks it.
Result<void> CheckExecutableFile(const std::filesystem::path& path, std::string_view platform);

}  // namespace steward::updater
