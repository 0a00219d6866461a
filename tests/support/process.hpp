// Child processes for integration tests: each runs in its own process group with stdout and
// stderr captured to files, and is killed (the whole group) and reaped when the test ends.
// Waiting is on the event (pidfd), always with a deadline.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace steward::test {

using namespace std::chrono_literals;

// Path of a built program or fixture: Bin("steward-agent").
std::string Bin(const std::string& name);

struct ExitStatus {
  int raw = 0;  // as from waitpid
  bool exited() const;
  int code() const;  // exit code when exited()
  bool signaled() const;
  int signal() const;  // signal number when signaled()
};

class Child {
 public:
  struct Options {
    std::map<std::string, std::string> env;  // added to (or replacing in) the test's environment
    std::vector<std::string> unset_env;
    std::string cwd;
  };
  static Child Spawn(const std::vector<std::string>& argv, const Options& options);
  static Child Spawn(const std::vector<std::string>& argv) { return Spawn(argv, Options{}); }

  Child(Child&& o) noexcept;
  Child& operator=(Child&&) = delete;
  Child(const Child&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }
  void Signal(int sig) const;
  // Waits for the exit up to `timeout`; nullopt on timeout.
  std::optional<ExitStatus> Wait(std::chrono::milliseconds timeout);
  bool running();
  std::string Stdout() const;
  std::string Stderr() const;
  // Waits until stdout+stderr contain `text`; false on timeout or if the child exits first.
  bool WaitForOutput(const std::string& text, std::chrono::milliseconds timeout);

 private:
  Child() = default;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::optional<ExitStatus> status_;
  std::filesystem::path out_, err_;
  std::filesystem::path dir_;
};

struct RunResult {
  ExitStatus status;
  std::string out;
  std::string err;
};
// Runs a program to completion (killing it past `timeout`, which fails the test).
RunResult RunProgram(const std::vector<std::string>& argv, const Child::Options& options = {},
                     std::chrono::milliseconds timeout = 60s);

// Polls `ready` until it returns true or `timeout` passes, for conditions with no event to
// wait on (a port answering, a file appearing). Returns the final value of `ready`.
bool Eventually(const std::function<bool()>& ready, std::chrono::milliseconds timeout);

// Live (non-zombie) processes whose executable path starts with `exe_prefix`: the copies of a
// node running from one host's version directories.
std::vector<pid_t> ProcessesRunningFrom(const std::string& exe_prefix);

}  // namespace steward::test
