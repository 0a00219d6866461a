#include "updater/launcher.hpp"

#include <unistd.h>

#include <charconv>
#include <map>

#include "common/files.hpp"
#include "updater/layout.hpp"

namespace steward::updater {

namespace fs = std::filesystem;

namespace {

fs::path ComponentDir(const fs::path& state_dir) {
  return ComponentLayout(state_dir, kUpdaterComponent).Dir();
}

fs::path AttemptsFile(const fs::path& state_dir) {
  return ComponentDir(state_dir) / "launch-attempts";
}

// The real path of <state_dir>/components/steward-updater/<pointer>/steward-updater, when it is
// an executable file.
std::optional<fs::path> Installed(const fs::path& state_dir, Pointer p) {
  std::error_code ec;
  const fs::path candidate = fs::canonical(
      ComponentLayout(state_dir, kUpdaterComponent).Program(p, kUpdaterComponent), ec);
  if (ec || !fs::is_regular_file(candidate, ec) || ::access(candidate.c_str(), X_OK) != 0) {
    return std::nullopt;
  }
  return candidate;
}

// One line per binary tried: "<failed-or-pending starts> <path>". Unreadable lines count as
// no attempts: the worst case is one more try of a broken version.
using Attempts = std::map<fs::path, int>;

Attempts ReadAttempts(const fs::path& state_dir) {
  Attempts out;
  auto text = files::ReadFile(AttemptsFile(state_dir), 64 * 1024);
  if (!text) return out;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    const auto space = line.find(' ');
    if (space == std::string_view::npos) continue;
    int count = 0;
    const auto [p, ec] = std::from_chars(line.data(), line.data() + space, count);
    if (ec != std::errc{} || p != line.data() + space || count < 0) continue;
    out[fs::path(line.substr(space + 1))] = count;
  }
  return out;
}

Result<void> WriteAttempts(const fs::path& state_dir, const Attempts& attempts) {
  std::string text;
  std::error_code ec;
  for (const auto& [path, count] : attempts) {
    if (fs::exists(path, ec)) text += std::to_string(count) + " " + path.string() + "\n";
  }
  if (auto r = files::MakeDirs(ComponentDir(state_dir)); !r) return r;
  return files::AtomicWrite(AttemptsFile(state_dir), text, 0644);
}

}  // namespace

Result<LaunchChoice> ChooseUpdaterBinary(const fs::path& state_dir, const fs::path& self,
                                         int max_attempts) {
  std::error_code ec;
  const fs::path me = fs::weakly_canonical(self, ec);
  Attempts attempts = ReadAttempts(state_dir);
  auto count_of = [&](const fs::path& p) {
    const auto it = attempts.find(p);
    return it == attempts.end() ? 0 : it->second;
  };
  auto exhausted = [&](const fs::path& p) { return count_of(p) >= max_attempts; };

  LaunchChoice choice{me, "no self-updated version installed: running the packaged updater"};
  if (auto current = Installed(state_dir, Pointer::current)) {
    if (!exhausted(*current)) {
      choice = {*current, "running the current self-updated version"};
    } else if (auto previous = Installed(state_dir, Pointer::previous);
               previous && !exhausted(*previous)) {
      choice = {*previous,
                "current version " + current->string() + " failed to start " +
                    std::to_string(count_of(*current)) + " times: running the previous one",
                true};
    } else {
      choice = {me,
                "current version " + current->string() + " failed to start " +
                    std::to_string(count_of(*current)) +
                    " times and no previous one is usable: running the packaged updater",
                true};
    }
  }
  if (choice.binary == me) return choice;
  attempts[choice.binary] = count_of(choice.binary) + 1;
  if (auto r = WriteAttempts(state_dir, attempts); !r) {
    return std::unexpected(r.error().Wrap("counting the updater launch"));
  }
  return choice;
}

Result<void> MarkUpdaterStarted(const fs::path& state_dir, const fs::path& self) {
  std::error_code ec;
  Attempts attempts = ReadAttempts(state_dir);
  const auto it = attempts.find(fs::weakly_canonical(self, ec));
  if (it == attempts.end() || it->second == 0) return {};
  it->second = 0;
  return WriteAttempts(state_dir, attempts);
}

}  // namespace steward::updater
