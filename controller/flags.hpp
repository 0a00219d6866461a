// Feature flags (ARCHITECTURE §3 `flags`, docs/protocol.md): names, scalar values, the global
// and per-channel scopes, validation of an admin change and the effective flags of one node.
// FlagTable is pure logic over FlagRecords; Flags keeps one in memory (so a check-in reads no
// store) and writes every change through to the Store.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "controller/store.hpp"

namespace steward::controller {

inline constexpr std::size_t kMaxFlagsPerScope = 128;
inline constexpr std::size_t kMaxFlagChannels = 256;                    // channels holding flags
inline constexpr std::size_t kMaxFlagValueBytes = 1024;                 // a string value
inline constexpr std::size_t kMaxFlagChangeEntries = 128;               // set + unset in one change
inline constexpr std::int64_t kMaxFlagInteger = std::int64_t{1} << 53;  // exact in every client

// Flag names: [a-z0-9][a-z0-9._-]{0,63}, e.g. "console.embedded".
bool IsValidFlagName(std::string_view name);

// "global" -> "", "channel:<name>" -> the channel (a valid component/channel name).
Result<std::string> ParseFlagScope(std::string_view scope);

// One admin change (the body of PUT /v1/admin/flags), validated.
struct FlagChange {
  std::string channel;                     // "" for the global scope
  std::map<std::string, std::string> set;  // name -> the value as compact JSON text
  std::vector<std::string> unset;
};

// Parses `{"scope": "global"|"channel:<name>", "set": {name: scalar…}, "unset": [name…]}`.
// Errors are bad_request and say which field or flag was wrong: not JSON, duplicate or unknown
// keys, a bad scope or name, a value that is not a boolean, a finite number (integers within
// ±2^53) or a string of at most kMaxFlagValueBytes, a name both set and unset, nothing to do.
Result<FlagChange> ParseFlagChange(std::string_view body);

// Every flag by scope, with the JSON texts a check-in answer needs built once per change.
class FlagTable {
 public:
  explicit FlagTable(const std::vector<FlagRecord>& rows = {});

  // bad_request when applying `change` would pass kMaxFlagsPerScope or kMaxFlagChannels.
  Result<void> Check(const FlagChange& change) const;
  void Apply(const FlagChange& change);

  // {"global":{name:value…},"channels":{channel:{name:value…}…}}; channels without flags are
  // left out; names sorted.
  std::string Document() const;

  // Appends the flags of a node whose components check in on `channels` (in the order of its
  // components): the global flags, overridden by each channel's; where two of the node's
  // channels set the same flag, the earlier component's channel wins.
  void AppendEffective(std::string& out, std::span<const std::string_view> channels) const;

 private:
  using Scope = std::map<std::string, std::string>;  // name -> JSON text
  static std::string ToJson(const Scope& scope);
  void Rebuild();

  std::map<std::string, Scope, std::less<>> scopes_;  // "" is the global scope
  std::string global_json_;
  std::map<std::string, std::string, std::less<>> channel_json_;  // global overlaid by channel
};

// The flags in force, shared by the admin API and check-ins.
class Flags {
 public:
  Flags(Store& store, Clock& clock);
  // Loads the rows; before serving.
  Result<void> Load();
  // Checks the change, writes it to the store, then applies it; the Document after it. On an
  // error nothing changed, for nodes and admins alike.
  Result<std::string> Change(const FlagChange& change);
  std::string Document() const;
  // FlagTable::AppendEffective.
  void AppendEffective(std::string& out, std::span<const std::string_view> channels) const;

 private:
  Store& store_;
  Clock& clock_;
  mutable std::mutex mu_;
  FlagTable table_;
};

}  // namespace steward::controller
