#include "tests/soak/small_disk.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace steward::test::soak {

SmallDisk::SmallDisk(std::filesystem::path dir, std::uint64_t megabytes)
    : dir_(std::move(dir)), filler_(dir_ / ".soak-filler") {
  std::filesystem::create_directories(dir_);
  const std::string options = "size=" + std::to_string(megabytes) + "m,mode=0755";
  if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
    throw std::runtime_error("mount tmpfs on " + dir_.string() + ": " + std::strerror(errno));
  }
}

SmallDisk::~SmallDisk() {
  Free();
  ::umount2(dir_.c_str(), MNT_DETACH);
}

std::uint64_t SmallDisk::Fill() {
  const int fd = ::open(filler_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  const std::vector<char> chunk(1 << 20, 'x');
  std::uint64_t written = 0;
  // Whole chunks, then smaller ones, down to the last free page.
  for (std::size_t size = chunk.size(); size >= 512; size /= 2) {
    for (;;) {
      const ssize_t n = ::write(fd, chunk.data(), size);
      if (n <= 0) break;
      written += static_cast<std::uint64_t>(n);
    }
  }
  ::close(fd);
  return written;
}

void SmallDisk::Free() {
  std::error_code ec;
  std::filesystem::remove(filler_, ec);
}

}  // namespace steward::test::soak
