// Maintenance windows per channel (docs/controller.md "Maintenance windows"): when nodes on a
// channel may begin an update. The controller hands them to nodes with every offer a window
// governs (protocol::UpdateWindows); the node decides, by its own clock, when to begin. The
// controller also admits a node to a rollout's wave only while one of its windows is open, so
// a wave is made of nodes that can update now. Immediate rollouts and minimum offers are not
// held to windows. Windows keeps them in memory and writes every change through to the Store.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/maintenance_window.hpp"
#include "controller/store.hpp"

namespace steward::controller {

inline constexpr std::size_t kMaxWindowsPerChannel = 32;
inline constexpr std::int64_t kMaxWaitS = 90LL * 24 * 3600;  // a quarter

// One channel's windows, loaded, as check-ins need them.
struct ChannelWindows {
  WindowsRecord record;  // canonical texts
  WindowSchedule schedule;
};

// An admin change (PUT /v1/admin/windows/{channel}); no windows clears the channel's.
struct WindowsChange {
  std::string channel;
  std::vector<std::string> windows;
  std::int64_t max_wait_s = 0;
};

class Windows {
 public:
  Windows(Store& store, Clock& clock);
  // Loads the rows; before serving, and again when another controller may have changed them.
  Result<void> Load();
  // Checks every window (its text and that this host knows its zone), writes the canonical
  // texts to the store, then applies them; bad_request naming the window that is wrong.
  Result<WindowsRecord> Set(const WindowsChange& change);
  std::vector<WindowsRecord> List() const;
  // The channel's windows, or null when it has none.
  std::shared_ptr<const ChannelWindows> For(std::string_view channel) const;

 private:
  Store& store_;
  Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const ChannelWindows>, std::less<>> by_channel_;
};

}  // namespace steward::controller
