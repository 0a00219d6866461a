#include "updater/elf.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "common/files.hpp"

namespace steward::updater {

namespace {

constexpr std::size_t kElfHeader64 = 64;
constexpr std::size_t kElfHeader32 = 52;

struct Target {
  std::string_view arch;
  unsigned char elf_class;  // 1: 32-bit, 2: 64-bit
  unsigned char data;       // 1: little-endian, 2: big-endian
  std::uint16_t machine;
};

constexpr std::array<Target, 6> kTargets{{
    {"x86_64", 2, 1, 62},    // EM_X86_64
    {"aarch64", 2, 1, 183},  // EM_AARCH64
    {"riscv64", 2, 1, 243},  // EM_RISCV
    {"i686", 1, 1, 3},       // EM_386
    {"armv7", 1, 1, 40},     // EM_ARM
    {"ppc64le", 2, 1, 21},   // EM_PPC64
}};

std::optional<Target> TargetFor(std::string_view arch) {
  for (const auto& t : kTargets) {
    if (t.arch == arch) return t;
  }
  return std::nullopt;
}

std::string MachineName(std::uint16_t machine) {
  for (const auto& t : kTargets) {
    if (t.machine == machine) return std::string(t.arch);
  }
  return "machine " + std::to_string(machine);
}

std::uint16_t Read16(std::string_view b, std::size_t at, bool little) {
  const auto lo = static_cast<unsigned char>(b[little ? at : at + 1]);
  const auto hi = static_cast<unsigned char>(b[little ? at + 1 : at]);
  return static_cast<std::uint16_t>(lo | (hi << 8));
}

}  // namespace

Result<void> CheckExecutableHeader(std::string_view header, std::string_view platform) {
  const auto dash = platform.find('-');
  const std::string_view os = platform.substr(0, dash);
  const std::string_view arch =
      dash == std::string_view::npos ? std::string_view{} : platform.substr(dash + 1);
  const auto target = TargetFor(arch);
  if (os != "linux" || !target) {
    return Fail(ErrorCode::unsupported,
                "no executable-format check for platform '" + std::string(platform) + "'");
  }
  if (header.size() < 4 || header.substr(0, 4) !=
                               "\x7f"
                               "ELF") {
    std::string seen;
    for (char c : header.substr(0, 8)) seen += (c >= 0x20 && c < 0x7f) ? c : '.';
    return Fail(ErrorCode::exec_format, "not an ELF executable (starts with \"" + seen +
                                            "\"); the artifact must be a " + std::string(platform) +
                                            " program");
  }
  const auto elf_class = static_cast<unsigned char>(header.size() > 4 ? header[4] : 0);
  const auto data = static_cast<unsigned char>(header.size() > 5 ? header[5] : 0);
  const std::size_t need = elf_class == 2 ? kElfHeader64 : kElfHeader32;
  if ((elf_class != 1 && elf_class != 2) || (data != 1 && data != 2) || header.size() < need) {
    return Fail(ErrorCode::exec_format, "truncated or malformed ELF header");
  }
  const bool little = data == 1;
  const std::uint16_t type = Read16(header, 16, little);
  const std::uint16_t machine = Read16(header, 18, little);
  if (machine != target->machine || elf_class != target->elf_class || data != target->data) {
    return Fail(ErrorCode::exec_format, "ELF executable for " + MachineName(machine) + " (" +
                                            (elf_class == 2 ? "64" : "32") + "-bit, " +
                                            (little ? "little" : "big") +
                                            "-endian), but this host is " + std::string(platform));
  }
  if (type != 2 && type != 3) {  // ET_EXEC, ET_DYN (PIE)
    return Fail(ErrorCode::exec_format,
                "ELF file of type " + std::to_string(type) + " is not an executable");
  }
  return {};
}

Result<void> CheckExecutableFile(const std::filesystem::path& path, std::string_view platform) {
  files::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return std::unexpected(ErrnoError("open " + path.string(), errno));
  std::string header(kElfHeader64, '\0');
  std::size_t got = 0;
  while (got < header.size()) {
    const ssize_t n =
        ::pread(fd.Get(), header.data() + got, header.size() - got, static_cast<off_t>(got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(ErrnoError("read " + path.string(), errno));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  header.resize(got);
  if (auto r = CheckExecutableHeader(header, platform); !r) {
    return std::unexpected(r.error().Wrap(path.filename().string()));
  }
  return {};
}

}  // namespace steward::updater
