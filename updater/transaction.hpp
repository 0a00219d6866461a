// The update transaction (ARCHITECTURE §4 "Update transaction") as one state × event table.
// A transaction moves one component from its current version to a new one:
//
//   fetching → staged → switching → switched → restarting → verifying → committed
//                 ↘ failed (nothing switched)            ↘ rolling_back → rolled_back
//
// The table is pure: it owns no I/O. The executor records the new state in the journal
// (synchronously) *before* performing the state's action, then feeds the action's outcome back
// as an event. Replaying the journal after a crash therefore re-enters the last recorded state
// and performs its action again; every action is idempotent (switching a symlink to where it
// already points, stopping a stopped node, starting a running one are no-ops).
#pragma once

#include <optional>
#include <string_view>

namespace steward::updater {

enum class TxnState {
  fetching,      // download, verify and install the version directory
  staged,        // the new version is installed; the node is being stopped (if it runs)
  switching,     // current → new, previous → old
  switched,      // the swap is on disk; start the node if it should run
  restarting,    // started, waiting for readiness
  verifying,     // ready; accumulating healthy runtime toward the grace period
  committed,     // terminal: the new version is the verified current one
  rolling_back,  // stop, switch back to the previous version, start it if it should run
  rolled_back,   // terminal: previous version restored, the new one marked bad
  failed,        // terminal: failed before anything was switched; nothing changed
  superseded,    // terminal: a newer release replaced this unverified one on a stopped node
};

enum class TxnEvent {
  done,          // the state's action succeeded
  error,         // the state's action failed
  node_stopped,  // the operator wants the node stopped: switch, do not start (unverified)
  ready,         // the node reported ready (notify, http probe or `none`)
  healthy,       // accumulated healthy runtime reached the grace period
  unhealthy,     // crash loop, start failure or watchdog inside the gate
  superseded,    // a newer release was installed for the stopped node; a new transaction
                 // takes over (in the same durable step)
};

// What the executor does on entering a state.
enum class TxnAction {
  none,
  fetch,           // download + verify + install the version directory
  hold_node,       // keep the node from (re)starting; the old version goes on running
  switch_to_new,   // current → new version dir, previous → old one
  start_node,      // replace the old process (requested stop, then start at once) or start
                   // if desired running; node_stopped when desired stopped
  await_ready,     // nothing to do: wait for ready / unhealthy
  await_healthy,   // nothing to do: wait for healthy / unhealthy
  roll_back,       // stop, switch current back to previous, start if desired running
  mark_committed,  // record the new version as verified; clean up older versions
  mark_bad,        // record the new version as bad: not retried automatically
  discard,         // remove staging leftovers of a failed fetch
};

std::string_view TxnStateName(TxnState state);
std::optional<TxnState> TxnStateFromName(std::string_view name);
std::string_view TxnEventName(TxnEvent event);

bool IsTerminal(TxnState state);
// True once `current` may point at the new version: from here a crash is repaired by going
// forward to verification or back by rolling back, never by forgetting the transaction.
bool MayHaveSwitched(TxnState state);

// The action performed on entering `state`.
TxnAction ActionFor(TxnState state);

// The state after `event` in `state`; nullopt when the event does not apply there (the
// executor logs and ignores it: a late readiness message for an already verified version, say).
std::optional<TxnState> Next(TxnState state, TxnEvent event);

}  // namespace steward::updater
