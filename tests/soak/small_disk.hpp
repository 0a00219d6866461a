// A host's state directory on a small tmpfs the soak mounts, so "the disk is full" is a real
// ENOSPC for the updater (SQLite journal, downloads, version directories), not a failpoint.
// Fill() takes every free byte with a filler file; Free() gives them back. Unmounted (lazily,
// so a process still holding a file cannot keep it mounted) when the object goes away.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace steward::test::soak {

class SmallDisk {
 public:
  // Mounts a tmpfs of `megabytes` at `dir` (created if missing). Throws when mounting fails.
  SmallDisk(std::filesystem::path dir, std::uint64_t megabytes);
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;
  ~SmallDisk();

  // Bytes written to make it full.
  std::uint64_t Fill();
  void Free();
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::filesystem::path filler_;
};

}  // namespace steward::test::soak
