// The update executor: runs the transaction table of transaction.hpp against the real world
// (the journal in the state database, the fetcher, the `current`/`previous` links and the
// supervisor). It lives on the daemon's loop thread; downloads run elsewhere through
// Deps::fetch and come back as events. Every state is journaled (synchronous=FULL) before its
// action runs, so after a crash Load() + Resume() re-enter the recorded state and finish or
// revert the transaction. docs/updates.md describes the whole story.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/clock.hpp"
#include "common/codes.hpp"
#include "common/error.hpp"
#include "common/trust.hpp"
#include "updater/checkin.hpp"
#include "updater/config.hpp"
#include "updater/fetch.hpp"
#include "updater/state_db.hpp"
#include "updater/supervisor.hpp"
#include "updater/transaction.hpp"

namespace steward::updater {

// One transaction as status shows it.
struct TxnView {
  std::int64_t id = 0;
  std::string component;
  std::string from_version, to_version;
  TxnState state = TxnState::fetching;
  std::optional<UpdateResult> result;  // nullopt while open
  std::string error_code, error;
  Duration healthy{};  // accumulated healthy runtime
  Duration grace{};

  UpdateReport Report() const;
};

class Updates {
 public:
  using FetchDone = std::function<void(Result<Installed>)>;
  struct Deps {
    Clock& clock;
    StateDb& db;
    Supervisor& sup;
    // Starts a download + install off the loop thread; `done` must run on the loop thread.
    std::function<void(FetchRequest, FetchDone)> fetch;
    // Self-update: qualifies a new updater binary off the loop thread (`selftest` must report
    // `version`); `done` runs on the loop thread.
    std::function<void(std::string binary, std::string version,
                       std::function<void(Result<void>)> done)>
        selftest;
    // Self-update: asks the daemon to re-execute the updater through its launcher, keeping
    // the components running.
    std::function<void()> reexec;
    // A transaction ended (the daemon reports it at once rather than at the next check-in).
    std::function<void()> finished = [] {};
  };

  Updates(const Config& config, Deps deps);
  ~Updates();
  Updates(const Updates&) = delete;
  Updates& operator=(const Updates&) = delete;

  // Loads the trust root (a root that does not load disables updates, not supervision) and
  // every unfinished transaction, and holds the components whose transaction must act before
  // they may run. Call before Supervisor::StartAll().
  Result<void> Load();
  // Re-enters the recorded state of every unfinished transaction. Call after StartAll().
  void Resume();

  // A release directed at this host (by the controller, or an operator's `apply`): verified in
  // the documented order, checked against holds, pins and bad versions, then started as a
  // transaction. Returns what was done ("started", "already installed", …) or why nothing was.
  // A newer release for a node stopped by its operator with an unverified update supersedes
  // that update: it is fetched while the open transaction stays as it is, and only once it is
  // installed does the open one end (`superseded`) and the new one begin, in one durable step.
  Result<std::string> Offer(const OfferedRelease& release);

  // A root file passed on by the controller: root N+1 signed by a threshold of the trusted root
  // N's root keys and of its own becomes the trusted root (kept in the state database);
  // older or equal versions are ignored; a gap or a bad signature is logged and changes nothing.
  void OfferRoot(const OfferedRoot& offered);

  // The operator clears the bad mark of a version rolled back here: it may be offered again.
  // not_found when it is not marked bad.
  Result<void> ClearBad(std::string_view name, std::string_view version);

  // Supervisor observer: a component's process ended (crash-loop verdict included).
  void OnExit(std::string_view name, const ExitInfo& exit, bool crash_loop);
  // Looks at the supervisor after every wake-up of the loop: readiness, stops, healthy time.
  void Poll();
  std::optional<MonoTime> NextDeadline() const;

  // The open transaction of `name`, else its last one, else the last refused offer.
  std::optional<TxnView> Last(std::string_view name) const;
  bool Busy(std::string_view name) const;

  struct Txn;

 private:
  // An offer that passed every check: what it installs.
  struct Accepted {
    trust::VerifiedRelease verified;
    std::string version, to_dir;
  };
  // A newer release being fetched to supersede the open transaction `over`.
  struct Superseding {
    OfferedRelease release;
    std::string version;
    std::int64_t over = 0;
  };
  // verify → floor → pin → bad mark. An answer instead of an Accepted when there is nothing to
  // do ("already installed", "pinned to …"); an error (recorded as the last refused offer) when
  // the release is refused.
  Result<std::variant<std::string, Accepted>> Check(const ComponentConfig& c,
                                                    const OfferedRelease& release);
  std::unexpected<Error> Refuse(const ComponentConfig& c, Error e, std::string version);
  // Raises the floor and begins the transaction in one durable step; with `over`, that open
  // transaction ends as superseded in the same step and the new one begins at `staged`.
  Result<std::string> Begin(const ComponentConfig& c, const OfferedRelease& release,
                            const Accepted& a, Txn* over);
  // A stopped node's update that never ran: a newer release may replace it.
  bool Supersedable(const Txn& t) const;
  void Supersede(const std::string& name, Result<Installed> fetched);
  // Removes version directories the transaction does not need (beside current and previous).
  void PruneFor(const Txn& t);
  Txn* Active(std::string_view name);
  void Enter(Txn& t, TxnState state);
  void Feed(Txn& t, TxnEvent event, std::optional<Error> error = std::nullopt);
  void Act(Txn& t);
  void Save(Txn& t);
  // For work done off the loop thread (a download, a selftest): feeds its outcome to `t` as
  // done or error, unless `t` has moved on since.
  std::function<void(Result<void>)> Continue(const Txn& t);
  void SwitchLinks(Txn& t, bool forward);
  void RollBackStep(Txn& t);
  void Finish(Txn& t);
  void Accumulate(Txn& t, MonoTime now);
  const ComponentConfig* Component(std::string_view name) const;
  // What this host accepted before for the component's channel (trust_floor).
  Result<trust::Floor> LoadFloor(const ComponentConfig& c);
  bool IsSelf(const Txn& t) const;
  void ActSelf(Txn& t);

  const Config& config_;
  Deps deps_;
  std::optional<ComponentConfig> self_;  // the updater as a component, with [self_update]
  std::optional<trust::Root> root_;
  std::optional<Error> root_error_;
  std::map<std::string, std::unique_ptr<Txn>, std::less<>> active_;
  std::map<std::string, TxnView, std::less<>> refused_;  // the last refused offer, per component
  std::map<std::string, Superseding, std::less<>> superseding_;
};

}  // namespace steward::updater
