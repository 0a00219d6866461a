// Feature flags: flags.json, written by the updater from the controller's check-in answer, is a
// JSON object of flag name -> value: {"console.embedded": true, "console.standalone": false}.
// A missing file means defaults. Flags the agent does not know are kept (shown in /status) and
// otherwise ignored, so a controller can roll out flags ahead of the agents that use them.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace steward::agent {

struct Flags {
  bool console_embedded = true;
  bool console_standalone = false;
  std::map<std::string, std::string> values;  // every flag in the file, as JSON text

  // {"console.embedded":true,…}: the flags in force (defaults included).
  std::string ToJson() const;
  bool operator==(const Flags&) const = default;
};

inline constexpr std::size_t kMaxFlagsBytes = 64 * 1024;

// config_parse: not a JSON object; config_invalid: a known flag of the wrong type.
// `name` (the file) starts every message.
Result<Flags> ParseFlags(std::string_view text, std::string_view name);
// Empty path or a missing file: defaults. Unreadable or larger than kMaxFlagsBytes: an error.
Result<Flags> LoadFlags(const std::string& path);

}  // namespace steward::agent
