// The controller's side of the wire (docs/protocol.md): every request body it reads and every
// JSON answer it writes, and nothing else. Decoders check what a client sent and name the field
// that was wrong (bad_request); encoders write the exact documented shapes. The domain
// (fleet, releases, rollouts) sees only the structs.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/http_server.hpp"
#include "controller/fleet.hpp"
#include "controller/releases.hpp"
#include "controller/rollout.hpp"
#include "controller/store.hpp"

namespace steward::controller {

inline constexpr std::size_t kMaxCheckinBody = 64 * 1024;

// POST /v1/enroll in two steps, so that a bad enroll token is refused (401) before the other
// fields are judged: the token, then the rest.
Result<std::string> DecodeEnrollToken(const http::Request& req);
Result<EnrollRequest> DecodeEnroll(const http::Request& req);
std::string EncodeEnrollment(const Enrollment& enrolled);

// POST /v1/checkin. The caller checked the body size and the bearer token's presence.
Result<CheckinReport> DecodeCheckin(const http::Request& req);
std::string EncodeCheckinAnswer(const CheckinAnswer& answer);
// The components of a stored report (NodeRecord::report); none when it does not parse.
std::vector<ComponentReport> ComponentsOfReport(const std::string& report);
// One release's entry in check-in answers.
std::string EncodeOffer(const ReleaseRecord& release);
// The `controllers` of check-in answers.
std::string EncodeControllers(const std::vector<std::string>& urls);
// The `roots` of check-in answers: the root's exact bytes and its signatures.
std::string EncodeRoots(const std::string& root, const std::vector<std::string>& signatures);

// POST and GET /v1/admin/releases.
Result<PublishRequest> DecodePublish(const http::Request& req);
std::string EncodePublished(const PublishOutcome& outcome);
std::string EncodeReleases(const std::vector<ReleaseRecord>& releases);

// PUT /v1/admin/rollouts/{component}/{channel}, GET /v1/admin/rollouts and the fleet view.
struct RolloutStatus {
  RolloutRecord rollout;
  RolloutReach reach;
  UpdateCounts counts;
};
Result<RolloutChange> DecodeRolloutChange(const http::Request& req);
std::string EncodeRollout(const RolloutStatus& status);
std::string EncodeRollouts(const std::vector<RolloutStatus>& statuses);

// GET /v1/admin/nodes, /v1/admin/nodes/{id} and /v1/admin/fleet.
std::string EncodeNodes(const std::vector<NodeState>& nodes);
std::string EncodeNode(const NodeState& node);  // with its machine id and last report
std::string EncodeFleet(const FleetCounts& counts, const std::vector<RolloutStatus>& rollouts);

// A number as JSON writes it (metrics share the format).
std::string EncodeNumber(double value);

}  // namespace steward::controller
