// Logging: a fixed set of named spdlog loggers sharing one sink chosen in Main. Text lines for
// the journal by default, JSON lines on request. Fields go in the message as key=value
// (component=agent version=1.2.0 pid=42).
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace steward::log {

enum class Format { text, json };

struct Options {
  spdlog::level::level_enum level = spdlog::level::info;
  Format format = Format::text;
  std::string file;  // empty: stderr
};

// "trace|debug|info|warn|error|critical|off".
Result<spdlog::level::level_enum> ParseLevel(std::string_view text);
// "text|json".
Result<Format> ParseFormat(std::string_view text);

// Installs the sink and level for every named logger. Call from Main before other threads
// log; before it, loggers write text to stderr at info. SetLevel is safe at any time.
Result<void> Init(const Options& options);
void SetLevel(spdlog::level::level_enum level);

// One of the named loggers: main, supervisor, update, fetch, trust, store, http, api,
// controller, rollout, agent, cli, checkin. Any other name is a programming error and aborts.
spdlog::logger& Get(std::string_view name);

}  // namespace steward::log
