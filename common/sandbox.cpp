#include "common/sandbox.hpp"

#include <cerrno>
#include <cstdint>

#ifdef __linux__
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <cstddef>
#include <vector>

#include "common/files.hpp"

namespace steward::sandbox {

#if defined(__linux__) && defined(SYS_landlock_create_ruleset)

namespace {

// The kernel's stable ABI (linux/landlock.h), spelled out here: the build host's headers may
// predate the newer fields; a kernel takes the struct size that matches its ABI.
struct RulesetAttr {
  std::uint64_t handled_access_fs = 0;
  std::uint64_t handled_access_net = 0;  // ABI 4
  std::uint64_t scoped = 0;              // ABI 6
};
constexpr std::uint32_t kCreateRulesetVersion = 1U << 0;
constexpr std::uint64_t kExecute = 1ULL << 0;
constexpr std::uint64_t kWriteFile = 1ULL << 1;
constexpr std::uint64_t kRemoveDir = 1ULL << 4;
constexpr std::uint64_t kRemoveFile = 1ULL << 5;
constexpr std::uint64_t kMakeChar = 1ULL << 6;
constexpr std::uint64_t kMakeDir = 1ULL << 7;
constexpr std::uint64_t kMakeReg = 1ULL << 8;
constexpr std::uint64_t kMakeSock = 1ULL << 9;
constexpr std::uint64_t kMakeFifo = 1ULL << 10;
constexpr std::uint64_t kMakeBlock = 1ULL << 11;
constexpr std::uint64_t kMakeSym = 1ULL << 12;
constexpr std::uint64_t kRefer = 1ULL << 13;                   // ABI 2
constexpr std::uint64_t kTruncate = 1ULL << 14;                // ABI 3
constexpr std::uint64_t kScopeAbstractUnixSocket = 1ULL << 0;  // ABI 6
constexpr std::uint64_t kScopeSignal = 1ULL << 1;              // ABI 6

#if defined(__x86_64__) || defined(__aarch64__)
#define STEWARD_SECCOMP 1
#if defined(__x86_64__)
constexpr std::uint32_t kAuditArch = AUDIT_ARCH_X86_64;
#else
constexpr std::uint32_t kAuditArch = AUDIT_ARCH_AARCH64;
#endif

// System calls Landlock has no right for: changing a file's mode, owner, times or extended
// attributes. As root without capabilities the helper could still do that to root's files
// (chmod u+s). Numbers of calls newer than the build host's headers are the kernel's own
// (shared by x86_64 and arm64 since Linux 5.1).
std::vector<long> MetadataSyscalls() {
  return {
#ifdef __NR_chmod
      __NR_chmod,
#endif
#ifdef __NR_chown
      __NR_chown,
#endif
#ifdef __NR_lchown
      __NR_lchown,
#endif
#ifdef __NR_utime
      __NR_utime,
#endif
#ifdef __NR_utimes
      __NR_utimes,
#endif
#ifdef __NR_futimesat
      __NR_futimesat,
#endif
      __NR_fchmod,
      __NR_fchmodat,
      __NR_fchown,
      __NR_fchownat,
      __NR_utimensat,
      __NR_setxattr,
      __NR_lsetxattr,
      __NR_fsetxattr,
      __NR_removexattr,
      __NR_lremovexattr,
      __NR_fremovexattr,
      452,  // fchmodat2 (6.6)
      463,  // setxattrat (6.13)
      466,  // removexattrat (6.13)
  };
}

#endif

// A seccomp filter that fails MetadataSyscalls() with EPERM (and every system call of another
// ABI: x32, i386). Needs no_new_privs. A kernel without seccomp filters leaves it out.
Result<void> DenyMetadataChanges() {
#ifdef STEWARD_SECCOMP
  std::vector<sock_filter> f;
  const auto deny = static_cast<std::uint32_t>(SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 1, 0));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, deny));
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
#ifdef __x86_64__
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000U, 0, 1));  // x32
  f.push_back(BPF_STMT(BPF_RET | BPF_K, deny));
#endif
  for (const long nr : MetadataSyscalls()) {
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<std::uint32_t>(nr), 0, 1));
    f.push_back(BPF_STMT(BPF_RET | BPF_K, deny));
  }
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  sock_fprog prog{static_cast<unsigned short>(f.size()), f.data()};
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0 && errno != EINVAL) {
    return std::unexpected(ErrnoError("prctl(PR_SET_SECCOMP)", errno));
  }
#endif
  return {};
}

// Every capability, from every set; then no_new_privs.
Result<void> DropCapabilities() {
  // The bounding set only limits what an exec could grant, which no_new_privs and Landlock
  // already deny: dropping it is a second line, done when allowed (it needs CAP_SETPCAP).
  for (int cap = 0; cap < 64; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno == EINVAL) break;  // past the last
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return std::unexpected(ErrnoError("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", errno));
  }
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capset, &header, none) != 0) {
    return std::unexpected(ErrnoError("capset", errno));
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return std::unexpected(ErrnoError("prctl(PR_SET_NO_NEW_PRIVS)", errno));
  }
  return {};
}

}  // namespace

int LandlockAbi() {
  const long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, kCreateRulesetVersion);
  return abi > 0 ? static_cast<int>(abi) : 0;
}

Result<int> ConfineToReading() {
  if (auto r = DropCapabilities(); !r) return std::unexpected(r.error());
  if (auto r = DenyMetadataChanges(); !r) return std::unexpected(r.error());
  const int abi = LandlockAbi();
  if (abi == 0) {
    return Fail(ErrorCode::unsupported,
                "this kernel has no Landlock (Linux 5.13 or newer with landlock among its LSMs); "
                "only the capabilities were dropped and the file-metadata calls filtered");
  }
  RulesetAttr attr;
  attr.handled_access_fs = kExecute | kWriteFile | kRemoveDir | kRemoveFile | kMakeChar | kMakeDir |
                           kMakeReg | kMakeSock | kMakeFifo | kMakeBlock | kMakeSym;
  if (abi >= 2) attr.handled_access_fs |= kRefer;
  if (abi >= 3) attr.handled_access_fs |= kTruncate;
  std::size_t size = sizeof(std::uint64_t);
  if (abi >= 6) {
    attr.scoped = kScopeAbstractUnixSocket | kScopeSignal;
    size = sizeof(RulesetAttr);
  }
  // No rule is added: what the ruleset handles is denied everywhere.
  const long ruleset = ::syscall(SYS_landlock_create_ruleset, &attr, size, 0U);
  if (ruleset < 0) return std::unexpected(ErrnoError("landlock_create_ruleset", errno));
  const files::UniqueFd fd(static_cast<int>(ruleset));
  if (::syscall(SYS_landlock_restrict_self, fd.Get(), 0U) != 0) {
    return std::unexpected(ErrnoError("landlock_restrict_self", errno));
  }
  return abi;
}

#else

int LandlockAbi() { return 0; }

Result<int> ConfineToReading() {
  return Fail(ErrorCode::unsupported, "Landlock is a Linux feature; nothing is confined here");
}

#endif

}  // namespace steward::sandbox
