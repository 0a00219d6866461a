// The controller's HTTP API (ARCHITECTURE §3, docs/protocol.md): enrollment, check-ins, the
// admin API (releases, rollouts, flags, nodes), artifacts, health and metrics. Service wires
// the domain (controller/fleet.hpp, releases.hpp, rollout.hpp, flags.hpp, membership.hpp),
// which keeps nodes, releases, rollouts and flags in memory (loaded from the Store at start,
// written through to it, reloaded when another replica changed them: Sync) so a check-in costs
// no store read; every decision is recorded in the Store first. Its routes only decode, call the
// domain and encode (controller/wire.hpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/http_server.hpp"
#include "common/trust.hpp"
#include "controller/config.hpp"
#include "controller/store.hpp"

namespace steward::controller {

struct ServiceOptions {
  trust::Root root;
  std::vector<std::string> admin_tokens;
  std::vector<std::string> enroll_tokens;
  std::vector<std::string> viewer_tokens;  // dashboard sign-in, read only; empty: none
  bool tls = false;                        // the listener is HTTPS: session cookies are Secure
  std::string blob_dir;
  std::string public_url;  // this controller, as listed to nodes
  std::int64_t checkin_interval_s = 60;
  double halt_rollback_rate = 0.05;
  std::int64_t halt_min_attempts = 20;
  bool allow_insecure_http = false;  // artifact checks on publish over plain http
  std::string artifact_ca_file;      // CA bundle for those checks; empty: the system's
  Duration member_ttl = std::chrono::seconds(30);
  // The check-in answer's `roots`: this controller's root.json and its signatures when it is a
  // rotation (version 2 or later), so nodes on the previous root can move to it.
  std::string roots_json = "[]";
};

// Reads the root (and its <root>.<label>.minisig signatures) and the token files named by the
// config. Errors name the file and what was wrong.
Result<ServiceOptions> LoadServiceOptions(const Config& config);

class Service {
 public:
  static Result<std::unique_ptr<Service>> Create(Store& store, Clock& clock,
                                                 ServiceOptions options);
  virtual ~Service() = default;

  // The routes of docs/protocol.md.
  virtual http::Router MakeRouter() = 0;
  // Registers this controller (options.public_url) as live and refreshes the list of live
  // controllers that check-in answers carry; call every member_ttl / 3.
  virtual Result<void> Heartbeat() = 0;
  // Reloads releases, rollouts and flags when the store's generation says they changed (another
  // controller sharing the store wrote them); true when it reloaded. Call every 250 ms, so a
  // change made through any replica is in every replica's answers within a second.
  virtual Result<bool> Sync() = 0;
  // The URL nodes are told about; set once the listening address is known.
  virtual void SetPublicUrl(std::string url) = 0;
};

}  // namespace steward::controller
