#include "common/http_guard.hpp"

#include <sys/resource.h>

#include <algorithm>

#include "common/log.hpp"

namespace steward::http {

bool SourceCounts::Add(const std::string& source, std::size_t cap) {
  std::size_t& n = open_[source];
  if (n >= cap) {
    if (n == 0) open_.erase(source);
    return false;
  }
  ++n;
  return true;
}

void SourceCounts::Remove(const std::string& source) {
  if (auto it = open_.find(source); it != open_.end() && --it->second == 0) open_.erase(it);
}

void ShedLog::Add(std::string_view address, std::string_view why, std::size_t n) {
  if (n == 0) return;
  std::lock_guard lock(mu_);
  counts_[std::string(why)] += n;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::seconds(1)) return;
  last_ = now;
  std::string what;
  for (const auto& [reason, count] : counts_) {
    what += (what.empty() ? "" : "; ") + std::to_string(count) + " " + reason;
  }
  counts_.clear();
  log::Get("http").warn("{}: shed {}", address, what);
}

ServerOptions WithLimits(ServerOptions options) {
  if (options.max_connections == 0) {
    rlimit lim{};
    const rlim_t files = ::getrlimit(RLIMIT_NOFILE, &lim) == 0 ? lim.rlim_cur : 1024;
    options.max_connections =
        files == RLIM_INFINITY ? std::size_t{1} << 20 : std::max<std::size_t>(16, files / 8 * 7);
  }
  return options;
}

}  // namespace steward::http
