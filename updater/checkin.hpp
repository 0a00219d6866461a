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
#include "common/protocol.hpp"
#include "updater/config.hpp"

namespace steward::updater {

// The check-in report's parts (common/protocol.hpp has the wire form).
using UpdateReport = protocol::UpdateReport;
using ComponentReport = protocol::ComponentReport;

// What persists between check-ins (in the state database, settings table).
struct CheckinState {
  std::string node_id, node_token;       // empty until enrolled
  std::vector<std::string> controllers;  // learned list, the last one that answered first
  bool operator==(const CheckinState&) const = default;
};

// What the controller offers: verified by the caller, never here.
using OfferedRelease = protocol::ReleaseOffer;
using OfferedRoot = protocol::RootOffer;

// A check-in answer with the client's policy applied: the interval clamped, the controller
// list filtered, the answering URL added.
struct CheckinAnswer {
  std::vector<OfferedRelease> releases;
  std::vector<OfferedRoot> roots;
  std::vector<protocol::UpdateWindows> windows;  // when offered components may begin
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

// The check-in body for `report` (protocol::CheckinReport), with this host's facts: uname and
// uptime.
std::string CheckinBody(const std::string& node_id, const std::string& updater_version,
                        const std::vector<ComponentReport>& report);

// Reads a check-in answer strictly (protocol::DecodeCheckinAnswer) and applies the client's
// policy to it; `url` names the controller in error messages (bad_request saying which field
// was wrong). `controller` of the result is left empty.
Result<CheckinAnswer> ParseCheckinAnswer(std::string_view body, const std::string& url);

}  // namespace steward::updater
