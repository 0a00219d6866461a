#include "updater/transaction.hpp"

#include <array>

namespace steward::updater {

namespace {

struct Row {
  TxnState from;
  TxnEvent event;
  TxnState to;
};

// The whole transaction. Read a row as: in `from`, on `event`, go to `to`.
constexpr std::array kTable = {
    Row{TxnState::fetching, TxnEvent::done, TxnState::staged},
    Row{TxnState::fetching, TxnEvent::error, TxnState::failed},

    Row{TxnState::staged, TxnEvent::done, TxnState::switching},
    Row{TxnState::staged, TxnEvent::error, TxnState::failed},  // nothing switched yet

    Row{TxnState::switching, TxnEvent::done, TxnState::switched},
    Row{TxnState::switching, TxnEvent::error, TxnState::rolling_back},

    Row{TxnState::switched, TxnEvent::done, TxnState::restarting},
    // Stopped by its operator: the swap stands, unverified; the next start runs the gate.
    Row{TxnState::switched, TxnEvent::node_stopped, TxnState::verifying},
    Row{TxnState::switched, TxnEvent::error, TxnState::rolling_back},

    Row{TxnState::restarting, TxnEvent::ready, TxnState::verifying},
    // Stopped by its operator before it was ready: unverified, like a stopped node.
    Row{TxnState::restarting, TxnEvent::node_stopped, TxnState::verifying},
    Row{TxnState::restarting, TxnEvent::unhealthy, TxnState::rolling_back},
    Row{TxnState::restarting, TxnEvent::error, TxnState::rolling_back},

    Row{TxnState::verifying, TxnEvent::healthy, TxnState::committed},
    Row{TxnState::verifying, TxnEvent::unhealthy, TxnState::rolling_back},
    // Stopped and never run: a newer release replaces it before anyone starts it.
    Row{TxnState::verifying, TxnEvent::superseded, TxnState::superseded},

    Row{TxnState::rolling_back, TxnEvent::done, TxnState::rolled_back},
    // Even a failed rollback ends the transaction: the previous version is what `current`
    // names; the supervisor keeps restarting it and the report says the environment failed.
    Row{TxnState::rolling_back, TxnEvent::error, TxnState::rolled_back},
};

constexpr std::array<std::string_view, 11> kStateNames = {
    "fetching",  "staged",       "switching",   "switched", "restarting", "verifying",
    "committed", "rolling_back", "rolled_back", "failed",   "superseded"};

}  // namespace

std::string_view TxnStateName(TxnState state) {
  return kStateNames[static_cast<std::size_t>(state)];
}

std::optional<TxnState> TxnStateFromName(std::string_view name) {
  for (std::size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == name) return static_cast<TxnState>(i);
  }
  return std::nullopt;
}

std::string_view TxnEventName(TxnEvent event) {
  switch (event) {
    case TxnEvent::done:
      return "done";
    case TxnEvent::error:
      return "error";
    case TxnEvent::node_stopped:
      return "node_stopped";
    case TxnEvent::ready:
      return "ready";
    case TxnEvent::healthy:
      return "healthy";
    case TxnEvent::unhealthy:
      return "unhealthy";
    case TxnEvent::superseded:
      return "superseded";
  }
  return "unknown";
}

bool IsTerminal(TxnState state) {
  return state == TxnState::committed || state == TxnState::rolled_back ||
         state == TxnState::failed || state == TxnState::superseded;
}

bool MayHaveSwitched(TxnState state) {
  switch (state) {
    case TxnState::fetching:
    case TxnState::staged:
    case TxnState::failed:
      return false;
    default:
      return true;
  }
}

TxnAction ActionFor(TxnState state) {
  switch (state) {
    case TxnState::fetching:
      return TxnAction::fetch;
    case TxnState::staged:
      return TxnAction::hold_node;
    case TxnState::switching:
      return TxnAction::switch_to_new;
    case TxnState::switched:
      return TxnAction::start_node;
    case TxnState::restarting:
      return TxnAction::await_ready;
    case TxnState::verifying:
      return TxnAction::await_healthy;
    case TxnState::committed:
      return TxnAction::mark_committed;
    case TxnState::rolling_back:
      return TxnAction::roll_back;
    case TxnState::rolled_back:
      return TxnAction::mark_bad;
    case TxnState::failed:
      return TxnAction::discard;
    case TxnState::superseded:
      return TxnAction::none;  // ended by the transaction that replaces it
  }
  return TxnAction::none;
}

std::optional<TxnState> Next(TxnState state, TxnEvent event) {
  for (const auto& row : kTable) {
    if (row.from == state && row.event == event) return row.to;
  }
  return std::nullopt;
}

}  // namespace steward::updater
