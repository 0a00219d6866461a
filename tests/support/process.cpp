#include "tests/support/process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace steward::test {

std::string Bin(const std::string& name) { return std::string(STEWARD_BIN_DIR) + "/" + name; }

bool ExitStatus::exited() const { return WIFEXITED(raw); }
int ExitStatus::code() const { return WEXITSTATUS(raw); }
bool ExitStatus::signaled() const { return WIFSIGNALED(raw); }
int ExitStatus::signal() const { return WTERMSIG(raw); }

namespace {

std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Child Child::Spawn(const std::vector<std::string>& argv, const Options& options) {
  Child c;
  char tmpl[] = "/tmp/steward-child-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
  c.dir_ = tmpl;
  c.out_ = c.dir_ / "stdout";
  c.err_ = c.dir_ / "stderr";

  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& k : options.unset_env) env.erase(k);
  for (const auto& [k, v] : options.env) env[k] = v;
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    ::setpgid(0, 0);
    const int out = ::open(c.out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open(c.err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int in = ::open("/dev/null", O_RDONLY);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(cargv[0], cargv.data(), envp.data());
    const std::string msg = std::string("exec ") + cargv[0] + ": " + std::strerror(errno) + "\n";
    (void)!::write(2, msg.data(), msg.size());
    _exit(127);
  }
  ::setpgid(pid, pid);  // also here, so the group exists before we return
  c.pid_ = pid;
  c.pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  return c;
}

Child::Child(Child&& o) noexcept
    : pid_(o.pid_), pidfd_(o.pidfd_), status_(o.status_), out_(o.out_), err_(o.err_), dir_(o.dir_) {
  o.pid_ = -1;
  o.pidfd_ = -1;
  o.dir_.clear();
}

Child::~Child() {
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);  // the whole group: grandchildren too
    if (!status_) {
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }
  if (pidfd_ >= 0) ::close(pidfd_);
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

void Child::Signal(int sig) const { ::kill(pid_, sig); }

std::optional<ExitStatus> Child::Wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  if (pidfd_ >= 0) {
    pollfd p{pidfd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
  }
  int st = 0;
  const pid_t r = ::waitpid(pid_, &st, pidfd_ >= 0 ? 0 : WNOHANG);
  if (r != pid_) return std::nullopt;
  status_ = ExitStatus{st};
  return status_;
}

bool Child::running() { return !Wait(std::chrono::milliseconds(0)).has_value(); }

std::string Child::Stdout() const { return Slurp(out_); }
std::string Child::Stderr() const { return Slurp(err_); }

bool Child::WaitForOutput(const std::string& text, std::chrono::milliseconds timeout) {
  return Eventually(
      [&] {
        if (Stdout().find(text) != std::string::npos || Stderr().find(text) != std::string::npos) {
          return true;
        }
        return false;
      },
      timeout);
}

RunResult RunProgram(const std::vector<std::string>& argv, const Child::Options& options,
                     std::chrono::milliseconds timeout) {
  Child c = Child::Spawn(argv, options);
  auto st = c.Wait(timeout);
  if (!st) {
    ADD_FAILURE() << argv[0] << " did not finish within " << timeout.count() << " ms";
    return RunResult{ExitStatus{-1}, c.Stdout(), c.Stderr()};
  }
  return RunResult{*st, c.Stdout(), c.Stderr()};
}

bool Eventually(const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  while (!ready()) {
    if (std::chrono::steady_clock::now() >= deadline) return ready();
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
  return true;
}

std::vector<pid_t> ProcessesRunningFrom(const std::string& exe_prefix) {
  namespace fs = std::filesystem;
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ec;
    const std::string exe = fs::read_symlink(e.path() / "exe", ec).string();
    if (ec || !exe.starts_with(exe_prefix)) continue;
    // A zombie is not running.
    std::ifstream stat(e.path() / "stat");
    const std::string text((std::istreambuf_iterator<char>(stat)),
                           std::istreambuf_iterator<char>());
    if (text.find(") Z ") != std::string::npos) continue;
    out.push_back(std::stoi(name));
  }
  return out;
}

}  // namespace steward::test
