#include "updater/notify_socket.hpp"

#include <charconv>

namespace steward::updater {

namespace {

constexpr std::size_t kMaxStatus = 1024;

Error Bad(std::string message) { return Error{ErrorCode::notify_socket, std::move(message)}; }

}  // namespace

Result<NotifyMessage> ParseNotify(std::string_view text) {
  if (text.size() > kMaxNotifyDatagram) {
    return std::unexpected(Bad("notify message of " + std::to_string(text.size()) +
                               " bytes is larger than " + std::to_string(kMaxNotifyDatagram)));
  }
  if (text.find('\0') != std::string_view::npos) {
    return std::unexpected(Bad("notify message contains a NUL byte"));
  }
  NotifyMessage m;
  int line_no = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (line.empty()) continue;
    const auto eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return std::unexpected(Bad("notify message line " + std::to_string(line_no) +
                                 " is not KEY=value: '" + std::string(line.substr(0, 64)) + "'"));
    }
    const std::string_view key = line.substr(0, eq);
    const std::string_view value = line.substr(eq + 1);
    auto want_one = [&](bool& flag) -> Result<void> {
      if (value != "1") {
        return std::unexpected(Bad(std::string(key) + "=" + std::string(value.substr(0, 32)) +
                                   ": the only allowed value is 1"));
      }
      flag = true;
      return {};
    };
    Result<void> r;
    if (key == "READY") {
      r = want_one(m.ready);
    } else if (key == "STOPPING") {
      r = want_one(m.stopping);
    } else if (key == "WATCHDOG") {
      if (value == "trigger") {
        m.watchdog_trigger = true;
      } else {
        r = want_one(m.watchdog);
      }
    } else if (key == "STATUS") {
      std::string s(value.substr(0, kMaxStatus));
      for (char& c : s) {
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
      }
      m.status = std::move(s);
    } else if (key == "EXTEND_TIMEOUT_USEC") {
      std::uint64_t usec = 0;
      const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), usec);
      if (ec != std::errc{} || p != value.data() + value.size() || value.empty() ||
          usec > 365ull * 24 * 3600 * 1000000) {
        return std::unexpected(Bad("EXTEND_TIMEOUT_USEC='" + std::string(value.substr(0, 32)) +
                                   "' is not a number of microseconds up to one year"));
      }
      m.extend_timeout = std::chrono::microseconds(usec);
    }
    if (!r) return std::unexpected(r.error());
  }
  return m;
}

}  // namespace steward::updater
