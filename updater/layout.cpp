#include "updater/layout.hpp"

#include <algorithm>

#include "common/files.hpp"
#include "updater/pointer.hpp"

namespace steward::updater {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kVersions = "versions";

std::string_view PointerName(Pointer p) { return p == Pointer::current ? "current" : "previous"; }

}  // namespace

ComponentLayout::ComponentLayout(const fs::path& state_dir, std::string_view component)
    : dir_(state_dir / "components" / std::string(component)) {}

fs::path ComponentLayout::Versions() const { return dir_ / kVersions; }

fs::path ComponentLayout::Version(std::string_view dir_name) const {
  return Versions() / std::string(dir_name);
}

fs::path ComponentLayout::PointerPath(Pointer p) const { return dir_ / PointerName(p); }

fs::path ComponentLayout::Program(Pointer p, std::string_view binary) const {
  return PointerPath(p) / std::string(binary);
}

std::string ComponentLayout::PointedDir(Pointer p) const { return ReadPointer(PointerPath(p)); }

std::string ComponentLayout::PointedVersion(Pointer p) const { return VersionOfDir(PointedDir(p)); }

Result<void> ComponentLayout::Point(Pointer p, std::string_view dir_name, bool sync) const {
  // Relative, so the state directory can move as a whole.
  const fs::path target = dir_name.empty() ? fs::path() : fs::path(kVersions) / dir_name;
  return SwitchPointer(PointerPath(p), target, sync);
}

fs::path StagingDir(const fs::path& state_dir) { return state_dir / "staging"; }

std::string VersionDirName(std::string_view version, const Sha256Digest& sha256) {
  return std::string(version) + "-" + HexEncode(sha256).substr(0, 8);
}

std::string VersionOfDir(std::string_view dir_name) {
  const auto dash = dir_name.rfind('-');
  if (dash != std::string_view::npos && dir_name.size() - dash - 1 == 8) {
    return std::string(dir_name.substr(0, dash));
  }
  return std::string(dir_name);
}

Result<std::vector<std::string>> PruneVersions(const fs::path& state_dir,
                                               std::string_view component,
                                               std::span<const std::string> keep) {
  const ComponentLayout layout(state_dir, component);
  const fs::path versions = layout.Versions();
  std::vector<std::string> kept(keep.begin(), keep.end());
  for (const Pointer p : {Pointer::current, Pointer::previous}) {
    if (auto name = layout.PointedDir(p); !name.empty()) kept.push_back(name);
  }
  auto removed = RemoveEntriesExcept(versions, [&](const std::string& name) {
    return std::find(kept.begin(), kept.end(), name) != kept.end();
  });
  if (removed && !removed->empty()) {
    if (auto r = files::FsyncDir(versions); !r) return std::unexpected(r.error());
  }
  return removed;
}

Result<std::vector<std::string>> RemoveEntriesExcept(
    const fs::path& dir, const std::function<bool(const std::string& name)>& keep) {
  std::vector<std::string> removed;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return removed;
    return Fail(ErrorCode::io, "list " + dir.string() + ": " + ec.message());
  }
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (keep(name)) continue;
    fs::remove_all(entry.path(), ec);
    if (ec) return Fail(ErrorCode::io, "remove " + entry.path().string() + ": " + ec.message());
    removed.push_back(name);
  }
  return removed;
}

}  // namespace steward::updater
