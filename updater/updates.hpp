// The update executor: runs the transaction table of transaction.hpp against the real world
// (the journal in the state database, the fetcher, the `current`/`previous` pointers and the
// supervisor). It lives on the daemon's loop thread; downloads run elsewhere through
// Deps::fetch and come back as events. Every state is journaled (synchronous=FULL) before its
// action runs, so after a crash Load() + Resume() re-enter the recorded state and finish or
// revert the transaction. docs/updates.md describes the whole story.
//
// The class spans three files: updates.cpp (loading, resuming, roots, status), updates_offer.cpp
// (an offer: verify → floor → record; superseding an unverified update) and updates_driver.cpp
// (the transaction driver: each state's action, the health gate, the end of a transaction).
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
#include "updater/journal.hpp"
#include "updater/layout.hpp"
#include "updater/state_db.hpp"
#include "updater/supervisor.hpp"
#include "updater/transaction.hpp"

namespace steward::updater {

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
  // With `windows` (the controller's maintenance windows for the component), an update that
  // would interrupt a running node begins only inside a window, or once it has waited
  // max_wait_s; until then the answer says when the next window opens (Waiting()).
  Result<std::string> Offer(const OfferedRelease& release,
                            const protocol::UpdateWindows* windows = nullptr);

  // A root file passed on by the controller: root N+1 signed by a threshold of the trusted root
  // N's root keys and of its own becomes the trusted root (kept in the state database);
  // older or equal versions are ignored; a gap or a bad signature is logged and changes nothing.
  void OfferRoot(const OfferedRoot& offered);

  // The operator clears the bad mark of a version rolled back here: it may be offered again.
  // not_found when it is not marked bad.
  Result<void> ClearBad(std::string_view name, std::string_view version);

  // Supervisor observers (Supervisor::Deps::on_ready, on_exit). Both run inside the
  // supervisor's own event handling, so they only record the event; the next Poll() feeds it.
  // A component reported ready (notify, http probe or `none`): its restarting transaction
  // passes to the verifying part of the health gate.
  void OnReady(std::string_view name);
  // A component's process ended (crash-loop verdict included).
  void OnExit(std::string_view name, const ExitInfo& exit, bool crash_loop);
  // Runs after every wake-up of the loop: feeds the recorded events, counts healthy time toward
  // the grace period (NextDeadline() says when to look again), sees stops and rollbacks through.
  void Poll();
  std::optional<MonoTime> NextDeadline() const;

  // The configuration changed under it (a reload; the caller checked that no transaction of a
  // component whose configuration went away is open): [self_update] is read again. The
  // components' configurations are looked up by name each time they are needed.
  void Reconfigured();

  // The open transaction of `name`, else its last one, else the last refused offer.
  std::optional<TxnView> Last(std::string_view name) const;
  bool Busy(std::string_view name) const;
  // An offer held back until a maintenance window: what waits and until when; "" when none.
  std::string Waiting(std::string_view name) const;

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
  using Checked = Result<std::variant<std::string, Accepted>>;

  // ---- an offer (updates_offer.cpp) ----
  // Why nothing may begin for `c` now (a transaction or a supersede under way, a hold), if so.
  std::optional<std::string> InTheWay(const ComponentConfig& c);
  // Whether an accepted release must wait for a maintenance window (the answer says until
  // when), or may begin now: no windows, one open, waited max_wait_s, nothing running that an
  // update would interrupt, or the running version marked bad. Malformed windows refuse it.
  Result<std::optional<std::string>> OutsideWindow(const ComponentConfig& c, const Accepted& a,
                                                   const protocol::UpdateWindows* windows);
  // verify → floor → pin → bad mark. An answer instead of an Accepted when there is nothing to
  // do ("already installed", "pinned to …"); an error (recorded as the last refused offer) when
  // the release is refused.
  Checked Check(const ComponentConfig& c, const OfferedRelease& release);
  // The trust check against the floor, in the documented order.
  Checked Verify(const ComponentConfig& c, const OfferedRelease& release,
                 const std::string& current_dir);
  // What a verified release still needs: not pinned away, not installed, not marked bad.
  Checked Admit(const ComponentConfig& c, Accepted a, const std::string& current_dir);
  std::unexpected<Error> Refuse(const ComponentConfig& c, Error e, std::string version);
  // Raises the floor and begins the transaction in one durable step; with `over`, that open
  // transaction ends as superseded in the same step and the new one begins at `staged`.
  Result<std::string> Begin(const ComponentConfig& c, const OfferedRelease& release,
                            const Accepted& a, Txn* over);
  std::unique_ptr<Txn> NewTxn(const ComponentConfig& c, const OfferedRelease& release,
                              const Accepted& a, const Txn* over) const;
  Result<void> Record(const ComponentConfig& c, const Accepted& a, Txn& t, Txn* over);
  // A stopped node's update that never ran: a newer release may replace it.
  bool Supersedable(const Txn& t) const;
  std::string FetchToSupersede(const ComponentConfig& c, const OfferedRelease& release,
                               const Accepted& a, const Txn& open);
  void Supersede(const std::string& name, Result<Installed> fetched);
  // Removes version directories the transaction does not need (beside current and previous).
  void PruneFor(const Txn& t);

  // ---- the transaction driver (updates_driver.cpp) ----
  void Enter(Txn& t, TxnState state);
  void Feed(Txn& t, TxnEvent event, std::optional<Error> error = std::nullopt);
  void Act(Txn& t);
  // For work done off the loop thread (a download, a selftest): feeds its outcome to `t` as
  // done or error, unless `t` has moved on since.
  std::function<void(Result<void>)> Continue(const Txn& t);
  void SwitchLinks(Txn& t, bool forward);
  void RollBackStep(Txn& t);
  void ActSelf(Txn& t);
  void Accumulate(Txn& t, MonoTime now);
  void Finish(Txn& t);
  // The end of a transaction on disk: version directories and staging entries it leaves.
  void CleanUpAfter(const Txn& t);

  // ---- shared (updates.cpp) ----
  Txn* Active(std::string_view name);
  void Save(Txn& t);
  const ComponentConfig* Component(std::string_view name) const;
  ComponentLayout Layout(std::string_view name) const;
  bool IsSelf(const Txn& t) const;

  const Config& config_;
  Deps deps_;
  Journal journal_;
  std::optional<ComponentConfig> self_;  // the updater as a component, with [self_update]
  std::optional<trust::Root> root_;
  std::optional<Error> root_error_;
  std::map<std::string, std::unique_ptr<Txn>, std::less<>> active_;
  std::map<std::string, TxnView, std::less<>> refused_;  // the last refused offer, per component
  std::map<std::string, Superseding, std::less<>> superseding_;
  std::map<std::string, std::string, std::less<>> waiting_;  // Waiting(), per component
};

}  // namespace steward::updater
