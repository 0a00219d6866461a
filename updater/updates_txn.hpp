// Inside the update executor (updates*.cpp only): one open transaction as the executor holds
// it, the journaled record plus what lives only while the updater runs, and the helpers its
// three files share.
#pragma once

#include <optional>
#include <string_view>
#include <utility>

#include "common/log.hpp"
#include "updater/updates.hpp"

namespace steward::updater {

struct Updates::Txn : TxnRecord {
  std::optional<MonoTime> healthy_since;  // running and counted from here
  MonoTime persisted_at{};
  bool rollback_started = false;  // rolling_back: the old version was switched back and released
  // An event seen inside the supervisor's event handling (a readiness, an exit), fed at the next
  // Poll: the executor never acts on the supervisor from within the supervisor's own callback.
  std::optional<std::pair<TxnEvent, std::optional<Error>>> pending;
};

namespace update_detail {

inline spdlog::logger& Log() { return log::Get("update"); }

// True when the failpoint is set to fail (tests inject a failure at a named step).
bool Injected(std::string_view failpoint);

// This host's artifact in a manifest that was verified when its transaction began.
Result<trust::Artifact> JournaledArtifact(std::string_view manifest);

}  // namespace update_detail

}  // namespace steward::updater
