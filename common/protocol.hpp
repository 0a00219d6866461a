// The messages that cross a process boundary, one plain struct each, with its one encoder and
// its one decoder: the controller protocol (enroll, check-in, errors, signed releases;
// docs/protocol.md) and the updater's local API (status document, apply body). Every program
// reads and writes these messages here, so both ends of a wire agree by construction.
//
// Decoders are strict about shape and tolerant of growth:
// - a field of the wrong type, or a required field missing, is bad_request naming the field;
// - fields they do not know are ignored, so either end may add fields;
// - an optional field that is null reads as absent, and strings documented as "null when none"
//   read null as "";
// - an ExitKind or UpdateResult name this build does not know (a newer peer's) drops the entry
//   that carries it (last_exit, last_update, update) instead of refusing the whole message; so
//   does a last_update whose result is null, which says nothing about an outcome.
// Requests (enroll, check-in report, signed release) are answered with "field 'x' must be …"
// messages addressed to their sender; answers (enroll, check-in) with "lacks x" / "has x of
// type T, not …" phrases that the caller completes with who sent them ("the answer from URL ").
// Numbers are read with nlohmann::json rather than common/json_strict: flags and the status
// document carry fractions and negative numbers, and an over-large interval is clamped, not
// refused. Encoders never throw: invalid UTF-8 in a string is replaced.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/codes.hpp"
#include "common/error.hpp"

namespace steward::protocol {

// The first bytes of a body, printable, for an error message about it.
std::string BodySnippet(std::string_view body);

// ---- errors: {"error": {"code": "<ErrorCodeName>", "message": "…"}} -------------------------

struct ErrorBody {
  std::string code;  // the peer's name for it; may be one this build does not know
  std::string message;
  bool operator==(const ErrorBody&) const = default;
};
std::string Encode(const ErrorBody& error);
std::string EncodeError(ErrorCode code, std::string_view message);
// nullopt unless the body is a JSON object whose "error" is an object. A peer may send
// anything there: `code` and `message` are read when they are strings and are "" otherwise.
std::optional<ErrorBody> DecodeError(std::string_view body);

// ---- POST /v1/enroll ------------------------------------------------------------------------

struct EnrollRequest {
  std::string enroll_token;  // may be empty: the controller answers unauthorized, not 400
  std::string hostname;      // required, at most 255 bytes
  std::string machine_id;    // required, at most 128 bytes
  std::string platform;      // required, at most 64 bytes
  bool operator==(const EnrollRequest&) const = default;
};
std::string Encode(const EnrollRequest& request);
Result<EnrollRequest> DecodeEnrollRequest(std::string_view body);
// The enroll token alone, so that a controller refuses a bad token (401) before it judges the
// other fields (400): a stranger learns nothing of what a request must hold.
Result<std::string> DecodeEnrollToken(std::string_view body);

struct EnrollAnswer {
  std::string node_id;     // non-empty, at most 128 bytes
  std::string node_token;  // non-empty, at most 1024 bytes
  bool operator==(const EnrollAnswer&) const = default;
};
std::string Encode(const EnrollAnswer& answer);
Result<EnrollAnswer> DecodeEnrollAnswer(std::string_view body);

// ---- POST /v1/checkin: the report -----------------------------------------------------------

// Why a supervised process last ended. The check-in carries kind, code, signal and at; the
// status document adds core_dumped and oom.
struct ExitInfo {
  ExitKind kind = ExitKind::clean;
  std::optional<int> code;    // exit code when it exited
  std::optional<int> signal;  // signal number when a signal ended it
  bool core_dumped = false;
  bool oom = false;
  WallTime at{};
  bool operator==(const ExitInfo&) const = default;
};

// A component's last update transaction, as the check-in reports it.
struct UpdateReport {
  std::string from, to;
  std::optional<UpdateResult> result;  // nullopt: still open, "in_progress" on the wire
  std::string error_code;              // ErrorCodeName(...), "" when none
  std::string error;
  // The version this update replaced before it ever ran (a stopped node's unverified update
  // superseded by a newer release); "" when none. On the wire only when set.
  std::string superseded;
  // How the new version's bytes came: "full", "delta", or "delta_failed: <error code>" (a
  // patch was tried and the full artifact downloaded instead); "" before the download ends or
  // when the version was installed already. On the wire only when set.
  std::string download;
  bool operator==(const UpdateReport&) const = default;
};

// One entry of the check-in's components[].
struct ComponentReport {
  std::string name, channel;  // required, [a-z0-9][a-z0-9_-]{0,63}
  std::string running_version, installed_version, previous_version;  // "" when none
  std::string desired_state, state;
  std::optional<ExitInfo> last_exit;
  std::int64_t restarts = 0;
  bool crash_loop = false;
  std::optional<UpdateReport> last_update;
  bool operator==(const ComponentReport&) const = default;
};

struct HostFacts {
  std::string os = "unknown", arch = "unknown", kernel;
  std::optional<std::int64_t> uptime_s;
  bool operator==(const HostFacts&) const = default;
};

inline constexpr std::size_t kMaxComponents = 64;

struct CheckinReport {
  std::string node_id;  // required, at most 64 bytes
  std::string updater_version;
  std::vector<ComponentReport> components;  // at most kMaxComponents
  HostFacts host;
  bool operator==(const CheckinReport&) const = default;
};
std::string Encode(const CheckinReport& report);
Result<CheckinReport> DecodeCheckinReport(std::string_view body);

// ---- POST /v1/checkin: the answer -----------------------------------------------------------

// A release the controller directs a node to run; the node verifies it, never the decoder.
// component, manifest and signatures first: they are what a node acts on, and all an
// operator's `apply` has ({component, manifest, signatures} builds an offer); channel and
// version repeat what the manifest says, for people, and are optional when read.
struct ReleaseOffer {
  std::string component;
  std::string manifest;  // the signed file's exact bytes
  std::vector<std::string> signatures;
  std::string channel = {}, version = {};
  bool operator==(const ReleaseOffer&) const = default;
};
std::string Encode(const ReleaseOffer& offer);

// A root file the controller passes on (a rotation); verified by the node.
struct RootOffer {
  std::string root;  // the file's exact bytes
  std::vector<std::string> signatures;
  bool operator==(const RootOffer&) const = default;
};
std::string Encode(const std::vector<RootOffer>& roots);

// When the node may begin the update an offer for `component` asks for: only inside one of the
// maintenance windows (their text form, common/maintenance_window.hpp), unless the offer has
// waited max_wait_s since the node first held it back. Checked by the node, not the decoder.
struct UpdateWindows {
  std::string component;
  std::vector<std::string> windows;
  std::optional<std::int64_t> max_wait_s;
  bool operator==(const UpdateWindows&) const = default;
};
std::string Encode(const std::vector<UpdateWindows>& windows);

struct CheckinAnswer {
  std::vector<ReleaseOffer> releases;  // required
  std::string flags = "{}";            // the flags object, compact JSON text
  std::vector<std::string> controllers;
  std::optional<std::int64_t> checkin_interval_s;  // unclamped; huge values saturate
  std::vector<RootOffer> roots;
  std::vector<UpdateWindows> windows;  // on the wire only when not empty
  bool operator==(const CheckinAnswer&) const = default;
};
std::string Encode(const CheckinAnswer& answer);
Result<CheckinAnswer> DecodeCheckinAnswer(std::string_view body);

// A check-in answer from pieces encoded beforehand: a controller encodes each offer when it is
// published, the controllers at a heartbeat and the roots at start, and answers every check-in
// by copying them. Encode(CheckinAnswer) writes through this too, so the shape is written once.
struct EncodedCheckinAnswer {
  std::vector<std::string_view> releases;  // each Encode(ReleaseOffer)
  std::string_view flags = "{}";           // a JSON object
  std::string_view controllers = "[]";     // EncodeControllers
  std::optional<std::int64_t> checkin_interval_s;
  std::string_view roots = "[]";  // Encode(std::vector<RootOffer>)
  std::string_view windows = {};  // Encode(std::vector<UpdateWindows>); written when not empty
};
std::string Encode(const EncodedCheckinAnswer& answer);
std::string EncodeControllers(const std::vector<std::string>& urls);

// ---- signed releases: POST /v1/admin/releases and the local API's apply ---------------------

// {"manifest": "<exact signed bytes>", "signatures": ["<.minisig text>", …]}: at least one
// signature; a manifest longer than trust::kMaxManifestBytes + 1 is refused here (one byte
// over still reaches the manifest parser, which names it manifest_too_large).
struct SignedRelease {
  std::string manifest;
  std::vector<std::string> signatures;
  bool operator==(const SignedRelease&) const = default;
};
std::string Encode(const SignedRelease& release);
Result<SignedRelease> DecodeSignedRelease(std::string_view body);

// ---- the updater's local API: GET /v1/status ------------------------------------------------

// An update transaction as status shows it: open or the last one.
struct UpdateStatus {
  std::int64_t id = 0;
  std::string from, to;                // null when ""
  std::string state;                   // TxnStateName
  std::optional<UpdateResult> result;  // null while open
  std::string error_code, error;       // null when ""
  double healthy_s = 0, grace_s = 0;
  std::string superseded;  // as in UpdateReport; null when ""
  std::string download;    // as in UpdateReport; null when ""
  bool operator==(const UpdateStatus&) const = default;
};

struct ComponentStatus {
  std::string name, state;                                           // state: UnitStateName
  std::optional<int> pid;                                            // null when not running
  std::string desired_state;                                         // running | stopped
  std::string running_version, installed_version, previous_version;  // null when ""
  std::optional<ExitInfo> last_exit;
  std::int64_t restarts = 0;
  std::int64_t consecutive_failures = 0;
  bool crash_loop = false;
  std::string status;      // the child's last STATUS=
  std::string last_error;  // null when ""
  std::string waiting;     // an update held back for a maintenance window; null when ""
  std::optional<UpdateStatus> update;
  bool operator==(const ComponentStatus&) const = default;
};

struct UpdaterStatus {
  std::string version, state;
  std::optional<UpdateStatus> update;  // the key is left out when none
  bool operator==(const UpdaterStatus&) const = default;
};

struct CheckinStatus {
  std::uint64_t count = 0;                      // check-ins answered
  std::string last_at, last_error, controller;  // null when ""
  bool operator==(const CheckinStatus&) const = default;
};

struct StatusDocument {
  UpdaterStatus updater;
  std::vector<ComponentStatus> components;
  std::optional<CheckinStatus> checkin;  // the key is left out without a controller
  bool operator==(const StatusDocument&) const = default;
};
std::string Encode(const StatusDocument& status);
Result<StatusDocument> DecodeStatus(std::string_view body);

}  // namespace steward::protocol
