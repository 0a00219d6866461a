// The controller's own bodies (docs/protocol.md): the admin API's requests and answers, and the
// step from the protocol's check-in messages (common/protocol.hpp, which reads and writes them)
// to what the fleet keeps. Decoders name the field that was wrong (bad_request); encoders write
// the exact documented shapes. The domain (fleet, releases, rollouts) sees only the structs.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/http_server.hpp"
#include "controller/fleet.hpp"
#include "controller/releases.hpp"
#include "controller/rollout.hpp"
#include "controller/store.hpp"
#include "controller/windows.hpp"

namespace steward::controller {

inline constexpr std::size_t kMaxCheckinBody = 64 * 1024;
inline constexpr std::size_t kMaxNodePage = 1000;  // GET /v1/admin/nodes?limit=

// The protocol's messages (common/protocol.hpp) read into, and written from, what the domain
// keeps of them.

// POST /v1/checkin: the report as protocol::DecodeCheckinReport reads it, reduced to what the
// fleet keeps. The caller checked the body size and the bearer token's presence.
Result<CheckinReport> DecodeCheckin(const http::Request& req);
// The answer, from the pieces the fleet keeps encoded (protocol::EncodedCheckinAnswer).
std::string EncodeCheckinAnswer(const CheckinAnswer& answer);
// The components of a stored report (NodeRecord::report); none when it does not decode.
std::vector<ComponentReport> ComponentsOfReport(const std::string& report);

// POST and GET /v1/admin/releases (the request is a protocol::SignedRelease).
std::string EncodePublished(const PublishOutcome& outcome);
std::string EncodeReleases(const std::vector<ReleaseRecord>& releases);

// PUT /v1/admin/rollouts/{component}/{channel}, GET /v1/admin/rollouts and the fleet view.
struct RolloutStatus {
  RolloutRecord rollout;
  RolloutReach reach;
  UpdateCounts counts;
  WaveProgress waves;
};
Result<RolloutChange> DecodeRolloutChange(const http::Request& req);

// PUT /v1/admin/windows/{channel}: {"windows": ["mon-fri 02:00 2h Europe/Berlin", …],
// "max_wait": "72h"}; an empty list clears the channel's windows, max_wait absent or null is no
// limit. The texts are checked by Windows::Set.
Result<WindowsChange> DecodeWindowsChange(const http::Request& req);
// {"windows": [{"channel", "windows", "max_wait" (duration text or null), "updated_at"}, …]}
std::string EncodeWindows(const std::vector<WindowsRecord>& windows);
std::string EncodeRollout(const RolloutStatus& status);
std::string EncodeRollouts(const std::vector<RolloutStatus>& statuses);

// GET /v1/admin/nodes, /v1/admin/nodes/{id} and /v1/admin/fleet.
// ?limit=&after=&component=&channel=&version=&state=&hostname=&checkin= (docs/protocol.md).
Result<NodeQuery> DecodeNodeQuery(const http::Request& req);
std::string EncodeNodePage(const NodePage& page);  // {"nodes":[…],"next":cursor|null}
// With its machine id, last report and update history (newest first).
std::string EncodeNode(const NodeState& node, const std::vector<UpdateRecord>& updates = {});
std::string EncodeFleet(const FleetCounts& counts, const std::vector<RolloutStatus>& rollouts,
                        const FleetOverview& overview = {});

// A number as JSON writes it (metrics share the format).
std::string EncodeNumber(double value);

}  // namespace steward::controller
