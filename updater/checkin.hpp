// The client side of the controller protocol (ARCHITECTURE §3): enrollment, check-ins and
// controller failover. Blocking HTTP: the daemon runs it off its loop thread. It owns no
// storage: the caller loads a CheckinState, passes it in, and persists it again when the call
// changed it (a new identity, a new controller list). docs/protocol.md has the wire format.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "updater/config.hpp"
#include "updater/exit_status.hpp"

namespace steward::updater {

// The outcome of a component's last update transaction, as reported.
struct UpdateReport {
  std::string from, to;
  std::string result;      // committed | rolled_back | environment | failed | in_progress
  std::string error_code;  // ErrorCodeName(...), empty when none
  std::string error;
};

// One entry of the check-in's components[].
struct ComponentReport {
  std::string name, channel;
  std::string running_version, installed_version, previous_version;  // "" when none
  std::string desired_state, state;
  std::optional<ExitInfo> last_exit;
  std::int64_t restarts = 0;
  bool crash_loop = false;
  std::optional<UpdateReport> last_update;
};

// What persists between check-ins (in the state database, settings table).
struct CheckinState {
  std::string node_id, node_token;       // empty until enrolled
  std::vector<std::string> controllers;  // learned list, the last one that answered first
  bool operator==(const CheckinState&) const = default;
};

// A release the controller directs this node to run: verified by the caller, never here.
struct OfferedRelease {
  std::string component;
  std::string manifest;  // the signed file's exact bytes
  std::vector<std::string> signatures;
};

// A root file the controller passes on (a rotation): verified by the caller, never here.
struct OfferedRoot {
  std::string root;  // the file's exact bytes
  std::vector<std::string> signatures;
};

struct CheckinAnswer {
  std::vector<OfferedRelease> releases;
  std::vector<OfferedRoot> roots;
  std::string flags_json = "{}";         // the answer's "flags" object, serialized compactly
  std::optional<Duration> interval;      // checkin_interval_s, when given (clamped to 1 s .. 24 h)
  std::vector<std::string> controllers;  // the answer's list: http(s) only, no duplicates
  std::string controller;                // the URL that answered
};

// Per-request limits towards a controller.
struct CheckinLimits {
  Duration connect_timeout = std::chrono::seconds(5);
  Duration timeout = std::chrono::seconds(30);  // one request, whole
  std::uint64_t max_response_bytes = 4 << 20;   // a longer answer is refused
};

class CheckinClient {
 public:
  // `updater_version` is what the check-in reports; `state_dir` is part of the machine id.
  CheckinClient(const Config& config, std::string updater_version, CheckinLimits limits = {});
  ~CheckinClient();
  CheckinClient(const CheckinClient&) = delete;
  CheckinClient& operator=(const CheckinClient&) = delete;

  // Enrolls first when `state` has no identity (enroll token from the config's file), then
  // checks in. Tries the controller that answered last, then the rest of the learned list, then
  // the configured seeds; a 401 re-enrolls once and retries. Updates `state` (identity,
  // controllers as listed by the answer). Errors: unauthorized (enrollment refused: the message
  // says to check the enroll token), or the transport/status error of every controller tried.
  Result<CheckinAnswer> CheckIn(CheckinState& state, const std::vector<ComponentReport>& report);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The machine id this updater enrolls with: HMAC-SHA256(key = /etc/machine-id, message =
// "steward-updater:" + state_dir), hex: stable for one installation, distinct for two updaters
// on one host, and not the raw machine id (which systemd asks applications not to expose).
std::string MachineId(const std::string& state_dir);

// The check-in body for `report` (ARCHITECTURE §3), host facts included.
std::string CheckinBody(const std::string& node_id, const std::string& updater_version,
                        const std::vector<ComponentReport>& report);

// Reads a check-in answer strictly; `url` names the controller in error messages
// (bad_request saying which field was wrong). `controller` of the result is left empty.
Result<CheckinAnswer> ParseCheckinAnswer(std::string_view body, const std::string& url);

}  // namespace steward::updater
