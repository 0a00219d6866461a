#include "controller/membership.hpp"

#include <vector>

#include "common/protocol.hpp"

namespace steward::controller {

Membership::Membership(Store& store, Clock& clock, std::string public_url, Duration ttl)
    : store_(store), clock_(clock), ttl_(ttl), public_url_(std::move(public_url)) {}

void Membership::SetPublicUrl(std::string url) {
  std::lock_guard lock(mu_);
  public_url_ = std::move(url);
}

std::string Membership::PublicUrl() const {
  std::lock_guard lock(mu_);
  return public_url_;
}

Result<void> Membership::Heartbeat() {
  const std::string url = PublicUrl();
  const auto now = UnixSeconds(clock_.Now());
  if (!url.empty()) {
    if (auto r = store_.Heartbeat(url, now); !r) return r;
  }
  const auto since = now - std::chrono::duration_cast<std::chrono::seconds>(ttl_).count();
  auto members = store_.ListMembers(since);
  if (!members) return std::unexpected(members.error());
  std::vector<std::string> urls;
  for (const auto& m : *members) urls.push_back(m.url);
  if (urls.empty() && !url.empty()) urls.push_back(url);
  std::lock_guard lock(mu_);
  controllers_json_ = protocol::EncodeControllers(urls);
  return {};
}

std::string Membership::ControllersJson() {
  std::lock_guard lock(mu_);
  // Kept once made: the list a node is told changes at a heartbeat only.
  if (controllers_json_.empty()) controllers_json_ = protocol::EncodeControllers({public_url_});
  return controllers_json_;
}

}  // namespace steward::controller
