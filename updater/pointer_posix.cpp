// POSIX pointers: a relative symlink, switched by renaming a new link over the old one.
#include "common/files.hpp"
#include "updater/pointer.hpp"

namespace steward::updater {

namespace fs = std::filesystem;

std::string ReadPointer(const fs::path& pointer) {
  std::error_code ec;
  const fs::path target = fs::read_symlink(pointer, ec);
  if (ec) return "";
  // A hand-made link may end in a slash ("versions/1.4.2-0a1b2c3d/").
  std::string name = target.filename().string();
  return name.empty() ? target.parent_path().filename().string() : name;
}

Result<void> SwitchPointer(const fs::path& pointer, const fs::path& target, bool sync) {
  if (!target.empty()) return files::SwitchSymlink(pointer, target, sync);
  std::error_code ec;
  fs::remove(pointer, ec);
  if (ec) return Fail(ErrorCode::io, "removing " + pointer.string() + ": " + ec.message());
  return sync ? files::FsyncDir(pointer.parent_path()) : Result<void>{};
}

}  // namespace steward::updater
