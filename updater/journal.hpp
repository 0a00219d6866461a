// The update journal: every update transaction (table `txn`, one row per attempt), the versions
// rolled back here (`bad_version`) and what this host accepted last per component and channel
// (`trust_floor`). The executor (updates.hpp) records a state here before acting on it, so
// after a crash Unfinished() hands back exactly what was under way. docs/updates.md has the
// story.
//
// One owner per table: the journal alone reads and writes these three tables. StateDb owns the
// database file itself, the supervisor's tables (component, exit_history), the settings, the
// Batch that groups writes into one durable step, and the schema of every table: SQLite
// versions a file, not a table, so the migrations stay one ordered, append-only list in
// state_db.cpp. Writes made while a StateDb::Batch is open join it (a floor raised and a
// transaction begun commit together).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/codes.hpp"
#include "common/error.hpp"
#include "common/trust.hpp"
#include "updater/checkin.hpp"
#include "updater/state_db.hpp"
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
  Duration healthy{};      // accumulated healthy runtime
  Duration grace{};        // from the configuration, not journaled
  std::string superseded;  // the unverified version this one replaced before it ran
  std::string download;    // full | delta | delta_failed: <code>; "" until fetched

  UpdateReport Report() const;
};

// One transaction as journaled: what status shows, and what resuming it needs.
struct TxnRecord {
  TxnView view;
  std::string channel;
  std::string from_dir, prev_dir, to_dir;  // version directory names (layout.hpp)
  std::string manifest;                    // the exact bytes verified when it began
  std::vector<std::string> signatures;
  std::int64_t swaps = 0;  // self-update: re-executions into the new version so far
};

// An unfinished transaction read back; `readable` is false when its row cannot be resumed
// (a state this version does not know, signatures that are no list).
struct JournaledTxn {
  TxnRecord txn;
  bool readable = true;
  std::string state_name;  // as stored, for the log
};

class Journal {
 public:
  explicit Journal(StateDb& db) : db_(db) {}

  // Records a new transaction (id ignored); returns its id.
  Result<std::int64_t> Begin(const TxnRecord& t, WallTime now);
  // Records the state, result, error, healthy time and swaps of transaction t.view.id.
  Result<void> Save(const TxnRecord& t, WallTime now);
  // Ends a transaction: it is no longer resumed.
  Result<void> Close(std::int64_t id);
  // Deletes the closed transactions of `component` older than its newest `kept` (an open one
  // counts among them and is never deleted).
  Result<void> Trim(std::string_view component, std::int64_t kept);
  // Every transaction not closed, oldest first.
  Result<std::vector<JournaledTxn>> Unfinished() const;
  // The newest transaction of `component`, closed or not (grace left at zero).
  Result<std::optional<TxnView>> Last(std::string_view component) const;

  // What this host accepted before for the component's channel; a zero floor when nothing.
  Result<trust::Floor> Floor(std::string_view component, std::string_view channel) const;
  // The floor becomes the accepted manifest's (root version, sequence, hash); its time floor
  // never goes down.
  Result<void> RaiseFloor(std::string_view component, std::string_view channel,
                          const trust::VerifiedRelease& accepted);

  // Why `version` was marked bad; nullopt when it is not.
  Result<std::optional<std::string>> BadReason(std::string_view component,
                                               std::string_view version) const;
  // Marks `version` bad (a second mark keeps the first reason).
  Result<void> MarkBad(std::string_view component, std::string_view version,
                       std::string_view reason, WallTime at);
  // Clears the mark; false when `version` was not marked bad.
  Result<bool> ClearBad(std::string_view component, std::string_view version);

 private:
  StateDb& db_;
};

}  // namespace steward::updater
