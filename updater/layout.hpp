// Where installed components live on disk, and the names found there. Every path under
// <state_dir>/components and every version-directory name is built and parsed here:
//
//   <state_dir>/components/<name>/versions/<version>-<sha8>/<binary>   one installed version
//   <state_dir>/components/<name>/current  -> versions/<dir>           what runs
//   <state_dir>/components/<name>/previous -> versions/<dir>           what a rollback restores
//   <state_dir>/staging/                                                downloads in progress
//
// A version directory appears complete in one rename (docs/fetching.md), so its name alone says
// which release it holds. The pointers are read and switched through pointer.hpp (the platform
// seam); Retention (PruneVersions) keeps whatever they name.
#pragma once

#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/hash.hpp"

namespace steward::updater {

// The two pointers of a component.
enum class Pointer { current, previous };

// One component's directory tree under a state directory.
class ComponentLayout {
 public:
  ComponentLayout(const std::filesystem::path& state_dir, std::string_view component);

  const std::filesystem::path& Dir() const { return dir_; }  // components/<name>
  std::filesystem::path Versions() const;                    // components/<name>/versions
  std::filesystem::path Version(std::string_view dir_name) const;
  std::filesystem::path PointerPath(Pointer p) const;
  // The program a pointer runs: components/<name>/<current|previous>/<binary>.
  std::filesystem::path Program(Pointer p, std::string_view binary) const;

  // The version directory a pointer names ("1.4.2-0a1b2c3d"); "" when it names none.
  std::string PointedDir(Pointer p) const;
  // The version a pointer names ("1.4.2"); "" when none.
  std::string PointedVersion(Pointer p) const;
  // Points `p` at versions/<dir_name>, or removes it when `dir_name` is empty. With `sync` the
  // directory holding both pointers is fsynced (one fsync after the second covers both).
  Result<void> Point(Pointer p, std::string_view dir_name, bool sync) const;

 private:
  std::filesystem::path dir_;
};

// <state_dir>/staging: partial downloads, on the same filesystem as the versions.
std::filesystem::path StagingDir(const std::filesystem::path& state_dir);

// "<version>-<first 8 hex digits of the sha256>".
std::string VersionDirName(std::string_view version, const Sha256Digest& sha256);
// "1.4.2" from "1.4.2-0a1b2c3d"; a name without the 8-digit suffix is returned as it is.
std::string VersionOfDir(std::string_view dir_name);

// Retention: removes version directories of `component` other than the targets of its
// `current` and `previous` pointers and the names in `keep` (e.g. a version just installed and
// not yet switched to). Returns the names removed.
Result<std::vector<std::string>> PruneVersions(const std::filesystem::path& state_dir,
                                               std::string_view component,
                                               std::span<const std::string> keep = {});

// Removes the entries of `dir` (whole trees) whose name `keep` does not want; a missing `dir`
// has none. Returns the names removed. The one sweep behind both retentions (versions here,
// staging in staging.cpp).
Result<std::vector<std::string>> RemoveEntriesExcept(
    const std::filesystem::path& dir, const std::function<bool(const std::string& name)>& keep);

}  // namespace steward::updater
