// The agent's local state: a small SQLite file under state_dir (agent.db), migrated by schema
// version. The agent records each start and what happened to it (ready, reloads, stops); the
// console reads it back, read-only, from inside the agent or from its own process.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/sqlite.hpp"

namespace steward::agent {

struct Event {
  std::int64_t id = 0;
  std::string at;    // RFC 3339
  std::string kind;  // start, ready, reload, reload_failed, stop
  std::string detail;
};

struct StateSummary {
  std::int64_t boots = 0;  // how many times the agent has started on this state
  std::string first_started_at;
  std::string last_started_at;
  std::string last_version;
  std::vector<Event> events;  // newest first
};

inline constexpr std::size_t kKeptEvents = 200;

// state_dir/agent.db
std::string StatePath(const std::string& state_dir);

class StateStore {
 public:
  // Creates state_dir (0750) and the database when missing, and migrates it.
  static Result<StateStore> Open(const std::string& state_dir);

  // Counts a start of `version`; returns the new boot count.
  Result<std::int64_t> RecordStart(std::string_view version, WallTime at);
  // Appends an event, keeping the newest kKeptEvents.
  Result<void> RecordEvent(std::string_view kind, std::string_view detail, WallTime at);

 private:
  explicit StateStore(sqlite::Db db) : db_(std::move(db)) {}
  Result<void> SetMeta(std::string_view key, std::string_view value);
  sqlite::Db db_;
};

// Reads the state read-only (the console's view). not_found when the agent has not created it.
Result<StateSummary> ReadState(const std::string& state_dir, std::size_t max_events);

}  // namespace steward::agent
