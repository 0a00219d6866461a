// The updater's state database (<state_dir>/state.db, SQLite WAL, synchronous=FULL except for
// deferred batches, see Sync): per component the operator's desired state, the persisted stop
// intent, the running pid and the restart tally, plus the history of exits, so backoff and crash
// loops are seen across updater restarts; and settings. The update journal's tables (txn,
// bad_version, trust_floor) are read and written by journal.hpp only; their schema is here,
// with every table's: the schema grows by appending to Migrations(), never by editing old ones.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/sqlite.hpp"
#include "updater/exit_status.hpp"

namespace steward::updater {

struct ComponentRecord {
  std::optional<std::string> desired;  // set by start/stop commands; nullopt: the config decides
  bool stop_intent = false;            // a stop was asked for and not yet seen through
  pid_t pid = 0;                       // the running process, 0 when none
  std::int64_t restarts = 0;
  int consecutive_failures = 0;  // failures since the last healthy reset
  WallTime streak_start{};       // failures before this do not count toward a crash loop
};

class StateDb {
 public:
  // Opens (creating) <state_dir>/state.db and migrates it.
  static Result<StateDb> Open(const std::string& state_dir);
  // Opens a database at an exact path (tests).
  static Result<StateDb> OpenPath(const std::string& path);
  static std::span<const std::string_view> Migrations();

  // The component's row, created with defaults when missing.
  Result<ComponentRecord> Load(std::string_view name);
  Result<void> SetDesired(std::string_view name, std::optional<std::string_view> desired);
  // Persisted (synchronously) before a stop signal is sent.
  Result<void> SetStopIntent(std::string_view name, bool intent);
  Result<void> SetPid(std::string_view name, pid_t pid);
  Result<void> CountRestart(std::string_view name);
  // Appends to the exit history and updates the failure streak, in one transaction.
  Result<void> RecordExit(std::string_view name, const ExitInfo& info, pid_t pid, Duration runtime,
                          int consecutive_failures);
  // A healthy run: the failure streak starts again at `at`.
  Result<void> ResetStreak(std::string_view name, WallTime at);
  // The newest `limit` failures recorded at or after `since`, oldest first.
  Result<std::vector<WallTime>> RecentFailures(std::string_view name, WallTime since,
                                               std::int64_t limit);
  Result<std::optional<ExitInfo>> LastExit(std::string_view name);

  // Small named values (node identity, the learned controller list); nullopt when unset.
  Result<std::optional<std::string>> GetSetting(std::string_view key);
  Result<void> SetSetting(std::string_view key, std::string_view value);

  sqlite::Db& db() { return db_; }

  // How a batch's commit reaches the disk. `full`: fsync'd before Commit returns (survives
  // the host's power loss). `deferred`: written to the WAL without an fsync; it survives the
  // updater's own crash, and the next `full` commit, a checkpoint or the kernel's writeback
  // takes it to the disk. Only for records a power cut makes moot (a child's exit, its pid).
  enum class Sync { full, deferred };

  // Groups the writes of one event into one transaction, so one commit covers them; the
  // supervisor opens one around a child's exit and its replacement's start, and commits it
  // before anything that must be durable first (a stop intent, which commits on its own).
  // Nested batches join the outer one, and its Sync.
  class Batch {
   public:
    explicit Batch(StateDb& db, Sync sync = Sync::full);
    ~Batch();
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
    Result<void> Commit();

   private:
    // The database's own safety level, after a deferred batch.
    Result<void> Restore();
    StateDb* db_;
    bool open_ = false;
    bool deferred_ = false;
  };

 private:
  explicit StateDb(sqlite::Db db) : db_(std::move(db)) {}
  sqlite::Db db_;
};

// Milliseconds since the epoch, as stored.
std::int64_t ToMillis(WallTime t);
WallTime FromMillis(std::int64_t ms);

}  // namespace steward::updater
