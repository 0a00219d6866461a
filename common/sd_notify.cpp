#include "common/sd_notify.hpp"

namespace steward {

Result<void> Notifier::Status(std::string_view text) const {
  std::string msg = "STATUS=";
  for (const char c : text) msg.push_back(c == '\n' ? ' ' : c);
  return Notify(msg);
}

}  // namespace steward
