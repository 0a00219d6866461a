// Crash-safe file operations. Every change that must survive power loss goes through these:
// write to a temp file in the same directory, fsync it, rename it over the target, fsync the
// directory. Symlinks are switched the same way (a temp link renamed over the old one).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace steward::files {

namespace fs = std::filesystem;

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.Release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int Get() const { return fd_; }
  int Release();
  // Closes now, reporting the error close(2) gives (delayed write errors on some filesystems).
  Result<void> Close();
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Replaces `path` with `data` atomically and durably: readers see the old or the new bytes.
Result<void> AtomicWrite(const fs::path& path, std::string_view data, mode_t mode = 0644);

// Points `link` at `target` atomically (temp symlink renamed over `link`), then fsyncs the
// directory (unless `sync_dir` is false: the caller fsyncs it after more changes in it). `link`
// may or may not exist; a non-symlink at `link` is an error.
Result<void> SwitchSymlink(const fs::path& link, const fs::path& target, bool sync_dir = true);

// fsync on a directory, making renames and creations in it durable.
Result<void> FsyncDir(const fs::path& dir);

// Bytes available to an unprivileged writer on the filesystem holding `path`.
Result<std::uint64_t> FreeSpace(const fs::path& path);

// Creates `path` for writing; fails if it exists or is a symlink (O_EXCL|O_NOFOLLOW).
Result<UniqueFd> CreateExclusive(const fs::path& path, mode_t mode);

// Reads a whole regular file; larger than `max_bytes` is a too_large error.
Result<std::string> ReadFile(const fs::path& path, std::size_t max_bytes);

// Writes all of `data` to `fd`, retrying short writes and EINTR.
Result<void> WriteAll(int fd, std::string_view data, std::string_view what);

// A whole regular file mapped read-only: its bytes without copying them into the heap (the
// kernel pages them in and may drop them again). Move-only; unmaps on destruction.
class MappedFile {
 public:
  static Result<MappedFile> Open(const fs::path& path);
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::string_view View() const { return {static_cast<const char*>(data_), size_}; }

 private:
  MappedFile(void* data, std::size_t size) : data_(data), size_(size) {}
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

// mkdir -p with `mode` for directories it creates.
Result<void> MakeDirs(const fs::path& dir, mode_t mode = 0755);

}  // namespace steward::files
