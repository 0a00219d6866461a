// The updater's local API: the routes `steward-updater status|apply|start|stop|restart|check|
// reexec|reload` and `clear-bad` call on this host, and the status document they read. Handlers run
// on the server's threads; each hands its work to the daemon's loop thread (the only thread
// that touches the supervisor and the update executor) and waits for the answer. Until the
// daemon has loaded its state, status answers "recovering" and every other route 503.
// The transport (a unix socket on POSIX) is local_api_transport.hpp's business.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/http_server.hpp"
#include "updater/checkin.hpp"
#include "updater/checkin_scheduler.hpp"
#include "updater/supervisor.hpp"
#include "updater/updates.hpp"

namespace steward::updater {

// The local API's JSON for a status request (also what `status --json` prints): the daemon's
// view as a protocol::StatusDocument, which common/protocol encodes. `updates` gives each
// component's open or last update transaction, when it has one; `waiting` an offer held back
// for a maintenance window (Updates::Waiting).
std::string StatusJson(const std::vector<UnitStatus>& units, std::string_view state,
                       const std::map<std::string, TxnView>& updates = {},
                       const std::optional<CheckinFacts>& checkin = std::nullopt,
                       const std::map<std::string, std::string>& waiting = {});

class LocalApi {
 public:
  // What the routes ask of the daemon; called on the loop thread only.
  class Daemon {
   public:
    virtual ~Daemon() = default;
    // The status document of a running updater.
    virtual std::string Status() = 0;
    // Updates::Offer: the outcome's text, or why the release was refused.
    virtual Result<std::string> Apply(const OfferedRelease& release) = 0;
    // Supervisor::Command (start, stop, restart, …).
    virtual Result<void> Command(const std::string& name, const std::string& command) = 0;
    // Updates::ClearBad.
    virtual Result<void> ClearBad(const std::string& name, const std::string& version) = 0;
    // Makes a check-in due now; false when this updater has no controller.
    virtual bool CheckNow() = 0;
    // Asks the daemon to end its loop and re-execute itself.
    virtual void Reexec() = 0;
    // Re-reads the config file and applies what changed: what was done, or why nothing was.
    virtual Result<std::string> Reload() = 0;
  };
  // Runs a task on the loop thread (EventLoop::Post).
  using Post = std::function<void(std::function<void()>)>;

  // `config_path` names the config file in the answer of a check without a controller.
  LocalApi(std::string config_path, Post post, Daemon& daemon);

  // The routes, for the transport's server; they refer to this object, which must outlive it.
  http::Router Routes();
  // From when the daemon's state is loaded until it stops: the routes reach the loop.
  void SetServing(bool serving) { serving_ = serving; }

 private:
  // Runs `work` on the loop thread and returns its answer; 503 when the loop does not answer.
  http::Response OnLoop(std::function<http::Response()> work);

  std::string config_path_;
  Post post_;
  Daemon& daemon_;
  std::atomic<bool> serving_{false};
};

// An `apply` request, a protocol::SignedRelease: at least one signature, else bad_request.
Result<OfferedRelease> ParseApply(const std::string& component, const std::string& body);

}  // namespace steward::updater
