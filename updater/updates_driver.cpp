// The update executor's transaction driver: enters each state of the table in
// transaction.hpp (journaled first), performs its action (fetch, hold, switch the pointers,
// start, roll back, self-update's qualify and re-exec), runs the health gate on the events
// the supervisor reports and the healthy time Poll() counts, and ends a transaction: its
// result, bad mark, retention and journal trim.
#include <algorithm>

#include "common/duration.hpp"
#include "common/platform.hpp"
#include "common/version.hpp"
#include "updater/launcher.hpp"
#include "updater/updates.hpp"
#include "updater/updates_txn.hpp"

namespace steward::updater {

using namespace std::chrono_literals;
using update_detail::Injected;
using update_detail::JournaledArtifact;
using update_detail::Log;

namespace {

// Transactions kept in the journal per component, the open one included.
constexpr std::int64_t kJournalKept = 100;

// Healthy runtime is written to the journal at least this often while it grows.
constexpr Duration kPersistEvery = 5s;

}  // namespace

std::function<void(Result<void>)> Updates::Continue(const Txn& t) {
  return [this, name = t.view.component, id = t.view.id, state = t.view.state](Result<void> r) {
    Txn* cur = Active(name);
    if (cur == nullptr || cur->view.id != id || cur->view.state != state) {
      return;  // a late answer for a transaction that moved on
    }
    if (!r) {
      Feed(*cur, TxnEvent::error, r.error());
    } else {
      Feed(*cur, TxnEvent::done);
    }
  };
}

void Updates::Enter(Txn& t, TxnState state) {
  const TxnState from = t.view.state;
  t.view.state = state;
  t.rollback_started = false;
  t.pending.reset();
  {
    // Recorded before it is acted on. The new version's failure streak starts in the same
    // durable step as the switch (one fsync less while the node is down).
    StateDb::Batch batch(deps_.db);
    Save(t);
    if (state == TxnState::switching) deps_.sup.ResetFailures(t.view.component);
    if (auto r = batch.Commit(); !r) Log().error("journal: {}", r.error().ToString());
  }
  Log().info("component={} update {} -> {}: {}{}", t.view.component,
             t.view.from_version.empty() ? "(none)" : t.view.from_version, t.view.to_version,
             from == state ? "" : std::string(TxnStateName(from)) + " -> ", TxnStateName(state));
  if (Injected("update." + std::string(TxnStateName(state)))) {
    Feed(t, TxnEvent::error,
         Error{ErrorCode::internal,
               "injected failure at update." + std::string(TxnStateName(state))});
    return;
  }
  Act(t);
}

void Updates::Feed(Txn& t, TxnEvent event, std::optional<Error> error) {
  const auto next = Next(t.view.state, event);
  if (!next) {
    Log().debug("component={} update: event {} ignored in {}", t.view.component,
                TxnEventName(event), TxnStateName(t.view.state));
    return;
  }
  if (error && t.view.error_code.empty()) {
    t.view.error_code = std::string(ErrorCodeName(error->code));
    t.view.error = error->message;
    Log().error("component={} update {} -> {}: {}", t.view.component, t.view.from_version,
                t.view.to_version, error->ToString());
  }
  Enter(t, *next);
}

void Updates::Act(Txn& t) {
  const std::string name = t.view.component;
  const ComponentConfig& c = *Component(name);
  if (IsSelf(t) && ActionFor(t.view.state) != TxnAction::fetch &&
      ActionFor(t.view.state) != TxnAction::switch_to_new) {
    ActSelf(t);
    return;
  }
  switch (ActionFor(t.view.state)) {
    case TxnAction::fetch: {
      // The journal holds the manifest verified when the transaction began.
      auto artifact = JournaledArtifact(t.manifest);
      if (!artifact) {
        Feed(t, TxnEvent::error, artifact.error());
        return;
      }
      // The version the node runs now is the base a patch may start from.
      FetchRequest request{name, t.view.to_version, c.binary, *artifact, {}};
      if (!t.from_dir.empty()) {
        request.base = Layout(name).Version(t.from_dir) / (c.binary.empty() ? name : c.binary);
      }
      deps_.fetch(std::move(request),
                  [this, name, id = t.view.id, then = Continue(t)](Result<Installed> r) {
                    // How the bytes came, journaled with the next state (an install found
                    // in place says nothing: the supersede that made it has set it).
                    if (Txn* cur = Active(name);
                        r && !r->download.empty() && cur != nullptr && cur->view.id == id) {
                      cur->view.download = r->download;
                    }
                    then(r ? Result<void>{} : Result<void>(std::unexpected(r.error())));
                  });
      return;
    }
    case TxnAction::hold_node:
      // The old version keeps running while the links switch; it is replaced in one step
      // once the switch is durable (start_node), so the node is down only for the restart.
      deps_.sup.Hold(name, false);
      Feed(t, TxnEvent::done);
      return;
    case TxnAction::switch_to_new:
      SwitchLinks(t, true);
      return;
    case TxnAction::start_node:
      deps_.sup.Release(name, true);
      if (deps_.sup.Desired(name) == DesiredState::running) {
        Feed(t, TxnEvent::done);
      } else {
        Log().info(
            "component={} is stopped by its operator: {} stays stopped, unverified; its "
            "next start runs the health gate",
            name, t.view.to_version);
        Feed(t, TxnEvent::node_stopped);
      }
      return;
    case TxnAction::await_ready:
      // A node already up when this state is entered (started at once by start_node, or
      // adopted by a restarted updater) reported its readiness before there was a gate to pass.
      if (deps_.sup.State(name) == UnitState::running) {
        Feed(t, TxnEvent::ready);
        return;
      }
      Poll();
      return;
    case TxnAction::await_healthy:
      Poll();
      return;
    case TxnAction::roll_back:
      RollBackStep(t);
      return;
    case TxnAction::mark_committed:
    case TxnAction::mark_bad:
    case TxnAction::discard:
      Finish(t);
      return;
    case TxnAction::none:
      return;
  }
}

// Switches `current` (and `previous`) to the new version (forward) or back to what they were.
void Updates::SwitchLinks(Txn& t, bool forward) {
  const ComponentLayout layout = Layout(t.view.component);
  const std::string& prev = forward ? t.from_dir : t.prev_dir;
  const std::string& cur = forward ? t.to_dir : t.from_dir;
  Result<void> r;
  // A first install has no old version to keep as previous.
  if (!forward || !t.from_dir.empty()) r = layout.Point(Pointer::previous, prev, false);
  if (r && Injected(forward ? "update.switch.between_links" : "update.rollback.between_links")) {
    r = Fail(ErrorCode::internal, "injected failure between the links");
  }
  if (r) r = layout.Point(Pointer::current, cur, true);
  // A superseded version that never ran (and what only its rollback needed) goes now.
  if (r && forward) PruneFor(t);
  if (!forward) {
    deps_.sup.ResetFailures(t.view.component);
    if (!r) Log().error("component={} rollback: {}", t.view.component, r.error().ToString());
  } else if (!r) {
    Feed(t, TxnEvent::error, r.error());
  } else {
    Feed(t, TxnEvent::done);
  }
}

void Updates::RollBackStep(Txn& t) {
  const std::string& name = t.view.component;
  if (!t.rollback_started) {
    // Before the replacement (a failed switch) the old version still runs and may go on.
    const bool old_runs =
        !t.view.from_version.empty() && deps_.sup.RunningVersion(name) == t.view.from_version;
    deps_.sup.Hold(name, !old_runs);
    const auto st = deps_.sup.State(name);
    if (!old_runs &&
        (st == UnitState::starting || st == UnitState::running || st == UnitState::stopping)) {
      return;
    }
    SwitchLinks(t, false);
    t.rollback_started = true;
    deps_.sup.Release(name);
    if (t.from_dir.empty() || deps_.sup.Desired(name) != DesiredState::running) {
      Feed(t, TxnEvent::done);
      return;
    }
  }
  // The old version must come back up; if it cannot either, the host is at fault.
  if (deps_.sup.State(name) == UnitState::running) Feed(t, TxnEvent::done);
}

// Self-update: the same table, where "the node" is this very process. Stopping becomes the
// qualification of the new binary (`selftest`), starting becomes a re-exec through the launcher
// (same PID, children kept), and readiness is this process running the new version after it.
// When the new version cannot start, the launcher falls back to the previous one, which finds
// the transaction with the version it does not run and rolls it back.
void Updates::ActSelf(Txn& t) {
  const bool am_new = BuildVersion() == t.view.to_version;
  switch (t.view.state) {
    case TxnState::staged: {
      const auto binary =
          Layout(t.view.component).Version(t.to_dir) / std::string(kUpdaterComponent);
      deps_.selftest(binary.string(), t.view.to_version, Continue(t));
      return;
    }
    case TxnState::switched:
      Feed(t, TxnEvent::done);
      return;
    case TxnState::restarting:
      if (am_new) {
        Feed(t, TxnEvent::ready);
      } else if (t.swaps == 0) {
        ++t.swaps;
        Save(t);  // before the exec: the next process knows it was tried
        Log().info("updater {} re-executing into {}", BuildVersion(), t.view.to_version);
        deps_.reexec();
      } else {
        Feed(t, TxnEvent::unhealthy,
             Error{ErrorCode::health_gate_failed, "updater " + t.view.to_version +
                                                      " did not start; the launcher ran " +
                                                      std::string(BuildVersion()) + " instead"});
      }
      return;
    case TxnState::verifying:
      if (!am_new) {
        Feed(t, TxnEvent::unhealthy,
             Error{ErrorCode::health_gate_failed, "updater " + t.view.to_version +
                                                      " stopped running within its grace period; "
                                                      "the launcher fell back to " +
                                                      std::string(BuildVersion())});
      } else {
        Poll();
      }
      return;
    case TxnState::rolling_back:
      if (!t.rollback_started) {
        SwitchLinks(t, false);
        t.rollback_started = true;
      }
      if (am_new) {
        deps_.reexec();  // the launcher now picks the restored version
      } else {
        Feed(t, TxnEvent::done);
      }
      return;
    default:
      Finish(t);
      return;
  }
}

void Updates::OnReady(std::string_view name) {
  Txn* t = Active(name);
  if (t == nullptr || IsSelf(*t) || t->view.state != TxnState::restarting || t->pending) return;
  t->pending.emplace(TxnEvent::ready, std::nullopt);
}

void Updates::OnExit(std::string_view name, const ExitInfo& exit, bool crash_loop) {
  Txn* t = Active(name);
  if (t == nullptr) return;
  Accumulate(*t, deps_.clock.Monotonic());
  // A readiness not fed yet was that of the run that just ended.
  if (t->pending && t->pending->first == TxnEvent::ready) t->pending.reset();
  const bool gate_failure =
      crash_loop || exit.kind == ExitKind::start_failure || exit.kind == ExitKind::watchdog;
  switch (t->view.state) {
    case TxnState::restarting:
    case TxnState::verifying:
      if (gate_failure && !t->pending) {
        t->pending.emplace(TxnEvent::unhealthy,
                           Error{ErrorCode::health_gate_failed,
                                 "version " + t->view.to_version + " failed its health gate: " +
                                     std::string(ExitKindName(exit.kind)) + " (" + exit.Describe() +
                                     ")" + (crash_loop ? ", crash loop" : "")});
      }
      return;
    case TxnState::rolling_back:
      if (t->rollback_started && IsFailure(exit.kind) && !t->pending) {
        t->view.result = UpdateResult::environment;
        t->view.error_code = std::string(ErrorCodeName(ErrorCode::environment));
        t->view.error = "version " + t->view.from_version + " also failed after the rollback (" +
                        std::string(ExitKindName(exit.kind)) + "): the host, not version " +
                        t->view.to_version + ", is at fault";
        t->pending.emplace(TxnEvent::error, std::nullopt);
      }
      return;
    default:
      return;
  }
}

void Updates::Accumulate(Txn& t, MonoTime now) {
  if (t.view.state != TxnState::verifying) {
    t.healthy_since.reset();
    return;
  }
  const bool running = IsSelf(t) ? BuildVersion() == t.view.to_version
                                 : deps_.sup.State(t.view.component) == UnitState::running;
  if (t.healthy_since) t.view.healthy += now - *t.healthy_since;
  t.healthy_since = running ? std::optional<MonoTime>(now) : std::nullopt;
}

void Updates::Poll() {
  const MonoTime now = deps_.clock.Monotonic();
  std::vector<std::string> names;
  for (const auto& [name, t] : active_) names.push_back(name);
  for (const auto& name : names) {
    Txn* t = Active(name);
    if (t == nullptr) continue;
    if (t->pending) {
      auto [event, error] = std::move(*t->pending);
      t->pending.reset();
      Feed(*t, event, std::move(error));
      continue;
    }
    // The updater itself is no supervised process: only its healthy time is polled.
    if (IsSelf(*t) && t->view.state != TxnState::verifying) continue;
    const auto st = deps_.sup.State(name);
    const bool idle =
        st != UnitState::starting && st != UnitState::running && st != UnitState::stopping;
    switch (t->view.state) {
      case TxnState::restarting:
        // Readiness comes as an event (OnReady); here only a stop by the operator is seen.
        if (idle && deps_.sup.Desired(name) != DesiredState::running)
          Feed(*t, TxnEvent::node_stopped);
        break;
      case TxnState::verifying: {
        Accumulate(*t, now);
        if (t->view.healthy >= t->view.grace) {
          Feed(*t, TxnEvent::healthy);
        } else if (now - t->persisted_at >= kPersistEvery && t->healthy_since) {
          t->persisted_at = now;
          Save(*t);
        }
        break;
      }
      case TxnState::rolling_back:
        RollBackStep(*t);
        break;
      default:
        break;
    }
  }
}

std::optional<MonoTime> Updates::NextDeadline() const {
  std::optional<MonoTime> next;
  for (const auto& [name, t] : active_) {
    if (t->view.state != TxnState::verifying || !t->healthy_since) continue;
    MonoTime at = *t->healthy_since + (t->view.grace - t->view.healthy);
    at = std::min(at, t->persisted_at + kPersistEvery);
    if (!next || at < *next) next = at;
  }
  return next;
}

void Updates::Finish(Txn& t) {
  const std::string name = t.view.component;
  switch (t.view.state) {
    case TxnState::committed:
      t.view.result = UpdateResult::committed;
      Log().info(
          "component={} version {} verified: healthy for {}; committed", name, t.view.to_version,
          FormatDuration(std::chrono::duration_cast<std::chrono::milliseconds>(t.view.healthy)));
      break;
    case TxnState::rolled_back: {
      if (t.view.result == UpdateResult::environment) {
        Log().error("component={} {}", name, t.view.error);
        break;
      }
      t.view.result = UpdateResult::rolled_back;
      const std::string from = t.view.from_version.empty() ? "(none)" : t.view.from_version;
      if (t.view.error_code != ErrorCodeName(ErrorCode::health_gate_failed)) {
        // The version never got its chance (the switch itself failed: a disk error, say): back
        // where it was, and the release is tried again when it is offered again.
        Log().error(
            "component={} update to {} rolled back to {}: {}; not the version's fault, "
            "not marked bad",
            name, t.view.to_version, from, t.view.error);
        break;
      }
      auto r = journal_.MarkBad(name, t.view.to_version, t.view.error_code, deps_.clock.Now());
      if (!r) Log().error("journal: marking {} bad: {}", t.view.to_version, r.error().ToString());
      Log().error("component={} version {} rolled back to {} and marked bad", name,
                  t.view.to_version, from);
      break;
    }
    case TxnState::failed:
      t.view.result = UpdateResult::failed;
      break;
    default:
      return;
  }
  Save(t);
  // A failed step before the switch may have left the node held.
  deps_.sup.Release(name);
  CleanUpAfter(t);
  // Closed, and the journal keeps the last kJournalKept transactions of the component (a
  // release that keeps failing to download is tried again at every check-in).
  (void)journal_.Close(t.view.id);
  (void)journal_.Trim(name, kJournalKept);
  active_.erase(name);
  deps_.finished();
}

void Updates::CleanUpAfter(const Txn& t) {
  const std::string& name = t.view.component;
  // Retention: current and previous stay; the rest (a rolled-back version, an install that
  // never got switched to) goes. Partial downloads of other open transactions stay.
  if (auto r = PruneVersions(config_.state_dir, name); !r) {
    Log().warn("component={} pruning versions: {}", name, r.error().ToString());
  }
  std::vector<std::string> keep;
  for (const auto& [other, o] : active_) {
    if (other == name || o->view.state != TxnState::fetching) continue;
    if (auto a = JournaledArtifact(o->manifest)) keep.push_back(StagingKey(other, a->sha256));
  }
  // A failed download keeps its resumable partial (the fetcher removed anything else).
  if (t.view.state != TxnState::failed) {
    if (auto r = PruneStaging(config_.state_dir, keep); !r) {
      Log().warn("pruning staging: {}", r.error().ToString());
    }
  }
}

}  // namespace steward::updater
