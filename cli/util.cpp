#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "common/files.hpp"

namespace steward::cli {

int Report(const Error& error) {
  std::cerr << "stewardctl: " << error.ToString() << "\n";
  return ExitCodeFor(error.code);
}

Result<std::string> ReadInput(const std::string& path, std::size_t max_bytes, ErrorCode oversize) {
  auto text = files::ReadFile(path, max_bytes);
  if (!text) {
    Error e = text.error().Wrap("reading " + path);
    if (e.code == ErrorCode::too_large) e.code = oversize;
    return std::unexpected(std::move(e));
  }
  return text;
}

Result<std::string> ReadPasswordFile(const std::string& path) {
  auto text = ReadInput(path, 4096);
  if (!text) return text;
  std::string pw = *text;
  const auto nl = pw.find('\n');
  if (nl != std::string::npos) pw.resize(nl);
  if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  if (pw.empty()) return Fail(ErrorCode::key_password, "password file " + path + " is empty");
  return pw;
}

Result<std::string> PromptPassword(const std::string& prompt) {
  files::UniqueFd tty(::open("/dev/tty", O_RDWR | O_CLOEXEC));
  if (!tty || !::isatty(STDIN_FILENO)) {
    return Fail(ErrorCode::key_password,
                "a password is needed and there is no terminal to ask: use --password-file");
  }
  termios old{};
  ::tcgetattr(tty.Get(), &old);
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  ::tcsetattr(tty.Get(), TCSAFLUSH, &quiet);
  (void)files::WriteAll(tty.Get(), prompt, "terminal");
  std::string pw;
  char c = 0;
  while (::read(tty.Get(), &c, 1) == 1 && c != '\n' && pw.size() < 1024) pw.push_back(c);
  ::tcsetattr(tty.Get(), TCSAFLUSH, &old);
  (void)files::WriteAll(tty.Get(), "\n", "terminal");
  if (!pw.empty() && pw.back() == '\r') pw.pop_back();
  if (pw.empty()) return Fail(ErrorCode::key_password, "empty password");
  return pw;
}

Result<std::pair<std::string, std::string>> SplitAssignment(const std::string& text,
                                                            std::string_view option) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    return Fail(ErrorCode::usage,
                std::string(option) + " '" + text + "' must have the form NAME=VALUE");
  }
  return std::pair(text.substr(0, eq), text.substr(eq + 1));
}

// The signature files next to `file` for each label: FILE.LABEL.minisig, those that exist.
std::vector<std::string> FindSignatureFiles(const std::string& file,
                                            const std::vector<std::string>& labels) {
  std::vector<std::string> out;
  for (const auto& label : labels) {
    const std::string path = file + "." + label + ".minisig";
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) out.push_back(path);
  }
  return out;
}

}  // namespace steward::cli
