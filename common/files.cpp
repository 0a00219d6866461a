#include "common/files.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <random>
#include <utility>

namespace steward::files {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.Release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

Result<void> UniqueFd::Close() {
  const int fd = Release();
  if (fd >= 0 && ::close(fd) != 0 && errno != EINTR)
    return std::unexpected(ErrnoError("close", errno));
  return {};
}

int UniqueFd::Release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

namespace {

// A name next to `path` that no other writer in this or another process will pick.
fs::path TempSibling(const fs::path& path) {
  static std::atomic<unsigned> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return path.parent_path() /
         ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
          std::to_string(counter++) + "-" + std::to_string(rng() % 1000000));
}

fs::path DirOf(const fs::path& path) {
  return path.has_parent_path() ? path.parent_path() : fs::path(".");
}

}  // namespace

Result<void> WriteAll(int fd, std::string_view data, std::string_view what) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(ErrnoError("write " + std::string(what), errno));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<void> FsyncDir(const fs::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return std::unexpected(ErrnoError("open directory " + dir.string(), errno));
  if (::fsync(fd.Get()) != 0) return std::unexpected(ErrnoError("fsync " + dir.string(), errno));
  return {};
}

Result<UniqueFd> CreateExclusive(const fs::path& path, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd) return std::unexpected(ErrnoError("create " + path.string(), errno));
  // The umask may have narrowed the mode; callers ask for exactly what they need.
  if (::fchmod(fd.Get(), mode) != 0) {
    return std::unexpected(ErrnoError("chmod " + path.string(), errno));
  }
  return fd;
}

Result<void> AtomicWrite(const fs::path& path, std::string_view data, mode_t mode) {
  const fs::path tmp = TempSibling(path);
  auto fd = CreateExclusive(tmp, mode);
  if (!fd) return std::unexpected(fd.error());
  auto cleanup = [&] { ::unlink(tmp.c_str()); };
  if (auto w = WriteAll(fd->Get(), data, tmp.string()); !w) {
    cleanup();
    return w;
  }
  if (::fsync(fd->Get()) != 0) {
    const int err = errno;
    cleanup();
    return std::unexpected(ErrnoError("fsync " + tmp.string(), err));
  }
  if (auto c = fd->Close(); !c) {
    cleanup();
    return c;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    cleanup();
    return std::unexpected(ErrnoError("rename to " + path.string(), err));
  }
  return FsyncDir(DirOf(path));
}

Result<void> SwitchSymlink(const fs::path& link, const fs::path& target, bool sync_dir) {
  struct stat st {};
  if (::lstat(link.c_str(), &st) == 0 && !S_ISLNK(st.st_mode)) {
    return Fail(ErrorCode::already_exists,
                link.string() + " exists and is not a symlink; move it aside before switching");
  }
  const fs::path tmp = TempSibling(link);
  if (::symlink(target.c_str(), tmp.c_str()) != 0) {
    return std::unexpected(ErrnoError("symlink " + tmp.string(), errno));
  }
  if (::rename(tmp.c_str(), link.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return std::unexpected(ErrnoError("rename symlink to " + link.string(), err));
  }
  return sync_dir ? FsyncDir(DirOf(link)) : Result<void>{};
}

Result<std::uint64_t> FreeSpace(const fs::path& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) {
    return std::unexpected(ErrnoError("statvfs " + path.string(), errno));
  }
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

namespace {

// Opens a regular file for reading and gives its size; anything else at the path is refused.
Result<std::pair<UniqueFd, std::uint64_t>> OpenRegular(const fs::path& path) {
  // O_NONBLOCK: a FIFO planted at the path must not block the open; it fails the type check.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) return std::unexpected(ErrnoError("open " + path.string(), errno));
  struct stat st {};
  if (::fstat(fd.Get(), &st) != 0)
    return std::unexpected(ErrnoError("stat " + path.string(), errno));
  if (!S_ISREG(st.st_mode))
    return Fail(ErrorCode::invalid_argument, path.string() + " is not a regular file");
  return std::pair(std::move(fd), static_cast<std::uint64_t>(st.st_size));
}

}  // namespace

Result<std::string> ReadFile(const fs::path& path, std::size_t max_bytes) {
  auto opened = OpenRegular(path);
  if (!opened) return std::unexpected(opened.error());
  const UniqueFd& fd = opened->first;
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd.Get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(ErrnoError("read " + path.string(), errno));
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      return Fail(ErrorCode::too_large, path.string() + " is larger than the limit of " +
                                            std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

Result<void> MakeDirs(const fs::path& dir, mode_t mode) {
  std::error_code ec;
  fs::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (partial.empty() || partial == partial.root_path()) continue;
    if (::mkdir(partial.c_str(), mode) != 0 && errno != EEXIST) {
      return std::unexpected(ErrnoError("mkdir " + partial.string(), errno));
    }
  }
  if (!fs::is_directory(dir, ec)) {
    return Fail(ErrorCode::io, dir.string() + " exists and is not a directory");
  }
  return {};
}

Result<MappedFile> MappedFile::Open(const fs::path& path) {
  auto opened = OpenRegular(path);
  if (!opened) return std::unexpected(opened.error());
  const auto size = static_cast<std::size_t>(opened->second);
  if (size == 0) return MappedFile(nullptr, 0);
  void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, opened->first.Get(), 0);
  if (data == MAP_FAILED) return std::unexpected(ErrnoError("mmap " + path.string(), errno));
  (void)::madvise(data, size, MADV_SEQUENTIAL);
  return MappedFile(data, size);
}

MappedFile::MappedFile(MappedFile&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    if (data_ != nullptr) ::munmap(data_, size_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

}  // namespace steward::files
