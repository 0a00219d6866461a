// Controller membership (docs/controller.md "Membership"): this controller's public URL, its
// heartbeat in the Store, and the live controllers that check-in answers list. The live list
// is read at each heartbeat, off the check-in path, so a check-in never waits on the store.
#pragma once

#include <mutex>
#include <string>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "controller/store.hpp"

namespace steward::controller {

class Membership {
 public:
  Membership(Store& store, Clock& clock, std::string public_url, Duration ttl);

  // The URL nodes are told about; set once the listening address is known.
  void SetPublicUrl(std::string url);
  std::string PublicUrl() const;

  // Registers this controller as live and reads the controllers live within the ttl.
  Result<void> Heartbeat();

  // The live controllers as a JSON array, as of the last Heartbeat; before the first one, this
  // controller alone.
  std::string ControllersJson();

 private:
  Store& store_;
  Clock& clock_;
  const Duration ttl_;
  mutable std::mutex mu_;
  std::string public_url_;
  std::string controllers_json_;
};

}  // namespace steward::controller
