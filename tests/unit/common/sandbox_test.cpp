// The HTTP helper's sandbox, applied in a forked child (the test process stays unconfined): it
// still reads files and connects over loopback, and writes, creates, removes, renames, executes
// and signals nothing, and holds no capability.
#include "common/sandbox.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "common/files.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::sandbox {
namespace {

// Runs `body` in a forked child and returns what it wrote to the pipe it is given.
template <class Body>
std::string InChild(Body body) {
  int p[2];
  EXPECT_EQ(::pipe(p), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    const std::string out = body();
    (void)!::write(p[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(p[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  return out;
}

// "ok" or the errno's name of each attempt, separated by spaces.
std::string Outcome(int rc) { return rc >= 0 ? "ok" : strerrorname_np(errno); }

// This process's effective capabilities, no_new_privs and seccomp mode, from /proc.
std::string Confinement() {
  std::ifstream in("/proc/self/status");
  std::string out;
  for (std::string line; std::getline(in, line);) {
    for (const char* key : {"CapEff:", "NoNewPrivs:", "Seccomp:"}) {
      if (line.starts_with(key)) out += line + " ";
    }
  }
  return out;
}

TEST(Sandbox, AConfinedProcessReadsAndConnectsButChangesNothing) {
  if (LandlockAbi() == 0) GTEST_SKIP() << "this kernel has no Landlock";
  test::TempDir dir;
  const std::string existing = dir.Write("existing", "kept");
  ASSERT_EQ(::mkdir((dir / "sub").c_str(), 0755), 0);
  // A loopback listener the child connects to.
  files::UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(listener.Get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(listener.Get(), 1), 0);
  ASSERT_EQ(::getsockname(listener.Get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const pid_t parent = ::getpid();

  const std::string out = InChild([&] {
    auto abi = ConfineToReading();
    if (!abi) return "confine failed: " + abi.error().message;
    std::string r;
    auto note = [&](const char* what, int rc) { r += std::string(what) + "=" + Outcome(rc) + " "; };
    char c;
    const int rd = ::open(existing.c_str(), O_RDONLY | O_CLOEXEC);
    note("read", rd >= 0 ? static_cast<int>(::read(rd, &c, 1)) : -1);
    note("write", ::open(existing.c_str(), O_WRONLY | O_CLOEXEC));
    note("create", ::open((dir / "new").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    note("mkdir", ::mkdir((dir / "newdir").c_str(), 0755));
    note("unlink", ::unlink(existing.c_str()));
    note("rmdir", ::rmdir((dir / "sub").c_str()));
    note("rename", ::rename(existing.c_str(), (dir / "moved").c_str()));
    note("symlink", ::symlink("existing", (dir / "link").c_str()));
    char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
    note("exec", ::execv("/bin/true", argv));
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    note("connect", ::connect(s, reinterpret_cast<const sockaddr*>(&addr), sizeof addr));
    // Metadata, which Landlock does not cover: no CAP_CHOWN, and a system-call filter.
    note("chown", ::chown(existing.c_str(), 1, 1));
    note("chmod", ::chmod(existing.c_str(), 04755));
    note("utimes", ::utimensat(AT_FDCWD, existing.c_str(), nullptr, 0));
    note("setxattr", ::setxattr(existing.c_str(), "user.x", "1", 1, 0));
    r += Confinement();
    if (*abi >= 3) note("truncate", ::truncate(existing.c_str(), 0));
    if (*abi >= 6) note("signal", ::kill(parent, 0));
    return r;
  });
  std::string expected =
      "read=ok write=EACCES create=EACCES mkdir=EACCES unlink=EACCES rmdir=EACCES "
      "rename=EACCES symlink=EACCES exec=EACCES connect=ok chown=EPERM chmod=EPERM utimes=EPERM "
      "setxattr=EPERM "
      "CapEff:\t0000000000000000 NoNewPrivs:\t1 Seccomp:\t2 ";
  if (LandlockAbi() >= 3) expected += "truncate=EACCES ";
  if (LandlockAbi() >= 6) expected += "signal=EPERM ";
  EXPECT_EQ(out, expected);
  // Nothing changed.
  EXPECT_EQ(files::ReadFile(existing, 64).value(), "kept");
  EXPECT_TRUE(std::filesystem::is_directory(dir / "sub"));
  EXPECT_FALSE(std::filesystem::exists(dir / "new"));
}

TEST(Sandbox, WithoutLandlockOnlyCapabilitiesGoAndTheErrorSaysWhy) {
  if (LandlockAbi() != 0) GTEST_SKIP() << "this kernel has Landlock";
  const std::string out = InChild([] {
    auto r = ConfineToReading();
    if (r) return std::string("confined");
    return std::string(ErrorCodeName(r.error().code)) + " " + Confinement() + r.error().message;
  });
  EXPECT_TRUE(out.starts_with("unsupported CapEff:\t0000000000000000 NoNewPrivs:\t1 Seccomp:\t2 "))
      << out;
  EXPECT_NE(out.find("no Landlock"), std::string::npos) << out;
}

}  // namespace
}  // namespace steward::sandbox
