#include "updater/staging.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/files.hpp"
#include "updater/layout.hpp"

namespace steward::updater {

namespace fs = std::filesystem;

std::string StagingKey(std::string_view component, const Sha256Digest& sha256) {
  return std::string(component) + "-" + HexEncode(sha256);
}

Result<void> PrepareStaging(const fs::path& staging) {
  if (auto r = files::MakeDirs(staging, 0700); !r) return r;
  struct stat st {};
  if (::lstat(staging.c_str(), &st) != 0) {
    return std::unexpected(ErrnoError("stat " + staging.string(), errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    return Fail(ErrorCode::io, staging.string() + " is not a directory; remove it");
  }
  if (st.st_uid != ::geteuid()) {
    return Fail(ErrorCode::permission_denied,
                staging.string() + " belongs to another user; it must be ours and 0700");
  }
  if ((st.st_mode & 07777) != 0700 && ::chmod(staging.c_str(), 0700) != 0) {
    return std::unexpected(ErrnoError("chmod 0700 " + staging.string(), errno));
  }
  return {};
}

Result<void> SameFilesystem(const fs::path& staging, const fs::path& versions) {
  struct stat a {};
  struct stat b {};
  if (::stat(staging.c_str(), &a) != 0 || ::stat(versions.c_str(), &b) != 0) {
    return std::unexpected(ErrnoError("stat " + versions.string(), errno));
  }
  if (a.st_dev != b.st_dev) {
    return Fail(ErrorCode::unsupported,
                staging.string() + " and " + versions.string() +
                    " are on different filesystems; installs must be one rename: keep "
                    "state_dir on one filesystem");
  }
  return {};
}

void RemoveTempSiblings(const fs::path& staging, const std::string& key) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(staging, ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("." + key)) fs::remove(e.path(), ec);
  }
}

Result<std::vector<std::string>> PruneStaging(const fs::path& state_dir,
                                              std::span<const std::string> keep) {
  return RemoveEntriesExcept(StagingDir(state_dir), [&](const std::string& name) {
    return std::any_of(keep.begin(), keep.end(), [&](const std::string& k) {
      return name == k + ".partial" || name == k + ".resume.json";
    });
  });
}

}  // namespace steward::updater
