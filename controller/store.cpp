// What the Store's records share with every backend: times as unix seconds and the names of
// update results, written and read here only.
#include "controller/store.hpp"

namespace steward::controller {

namespace {
// docs/protocol.md: a transaction still under way reports this in place of a result.
constexpr std::string_view kInProgress = "in_progress";
}  // namespace

std::string_view ResultName(const std::optional<UpdateResult>& result) {
  return result ? UpdateResultName(*result) : kInProgress;
}

Result<std::optional<UpdateResult>> ResultFromName(std::string_view name) {
  if (name == kInProgress) return std::optional<UpdateResult>{};
  if (auto r = UpdateResultFromName(name)) return std::optional<UpdateResult>{*r};
  return Fail(ErrorCode::bad_request, "unknown update result '" + std::string(name) + "'");
}

std::int64_t UnixSeconds(WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace steward::controller
