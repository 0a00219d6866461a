#include "controller/windows.hpp"

#include <fmt/format.h>

#include "common/log.hpp"

namespace steward::controller {

namespace {

Result<std::shared_ptr<const ChannelWindows>> Loaded(WindowsRecord record) {
  auto schedule = WindowSchedule::Make(record.windows);
  if (!schedule) return std::unexpected(schedule.error());
  auto out = std::make_shared<ChannelWindows>();
  for (auto& text : record.windows) text = MaintenanceWindow::Parse(text)->Format();
  out->record = std::move(record);
  out->schedule = std::move(*schedule);
  return out;
}

}  // namespace

Windows::Windows(Store& store, Clock& clock) : store_(store), clock_(clock) {}

Result<void> Windows::Load() {
  auto rows = store_.ListWindows();
  if (!rows) return std::unexpected(rows.error());
  std::map<std::string, std::shared_ptr<const ChannelWindows>, std::less<>> loaded;
  for (auto& row : *rows) {
    auto w = Loaded(row);
    if (!w) {
      // Only a zone this host lacks (its zone data is older than the replica's that took the
      // change): the channel is served without windows here, and the log says why.
      log::Get("controller")
          .error("maintenance windows of channel {} are not in force on this controller: {}",
                 row.channel, w.error().message);
      continue;
    }
    loaded.emplace(row.channel, std::move(*w));
  }
  std::lock_guard lock(mu_);
  by_channel_ = std::move(loaded);
  return {};
}

Result<WindowsRecord> Windows::Set(const WindowsChange& change) {
  if (change.windows.size() > kMaxWindowsPerChannel) {
    return Fail(ErrorCode::bad_request, fmt::format("at most {} windows per channel; {} given",
                                                    kMaxWindowsPerChannel, change.windows.size()));
  }
  if (change.max_wait_s < 0 || change.max_wait_s > kMaxWaitS) {
    return Fail(ErrorCode::bad_request, "max_wait must be from 0s (no limit) to 90d");
  }
  WindowsRecord record{change.channel, change.windows, change.max_wait_s,
                       UnixSeconds(clock_.Now())};
  std::shared_ptr<const ChannelWindows> loaded;
  if (!record.windows.empty()) {
    auto w = Loaded(record);
    if (!w) return Fail(ErrorCode::bad_request, w.error().message);
    loaded = std::move(*w);
    record = loaded->record;
  }
  if (auto r = store_.PutWindows(record); !r) return std::unexpected(r.error());
  std::lock_guard lock(mu_);
  if (loaded) {
    by_channel_[record.channel] = std::move(loaded);
  } else {
    by_channel_.erase(record.channel);
  }
  return record;
}

std::vector<WindowsRecord> Windows::List() const {
  std::lock_guard lock(mu_);
  std::vector<WindowsRecord> out;
  for (const auto& [channel, w] : by_channel_) out.push_back(w->record);
  return out;
}

std::shared_ptr<const ChannelWindows> Windows::For(std::string_view channel) const {
  std::lock_guard lock(mu_);
  auto it = by_channel_.find(channel);
  return it == by_channel_.end() ? nullptr : it->second;
}

}  // namespace steward::controller
