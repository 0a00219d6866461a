#include "common/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>

namespace steward::log {

namespace {

constexpr std::array<std::string_view, 13> kNames = {
    "main", "supervisor", "update",  "fetch", "trust", "store",  "http",
    "api",  "controller", "rollout", "agent", "cli",   "checkin"};

// {"ts":"2026-01-01T00:00:00.123Z","level":"info","logger":"update","msg":"…"}
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    const auto ms = duration_cast<milliseconds>(msg.time.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[64];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms % 1000));
    Append(dest, R"({"ts":")");
    Append(dest, ts);
    Append(dest, R"(","level":")");
    const auto level = spdlog::level::to_string_view(msg.level);
    Append(dest, std::string_view(level.data(), level.size()));
    Append(dest, R"(","logger":")");
    Escape(dest, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    Append(dest, R"(","msg":")");
    Escape(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    Append(dest, "\"}\n");
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }

 private:
  static void Append(spdlog::memory_buf_t& dest, std::string_view s) {
    dest.append(s.data(), s.data() + s.size());
  }
  static void Escape(spdlog::memory_buf_t& dest, std::string_view s) {
    for (const char c : s) {
      switch (c) {
        case '"':
          Append(dest, "\\\"");
          break;
        case '\\':
          Append(dest, "\\\\");
          break;
        case '\n':
          Append(dest, "\\n");
          break;
        case '\r':
          Append(dest, "\\r");
          break;
        case '\t':
          Append(dest, "\\t");
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            Append(dest, buf);
          } else {
            dest.push_back(c);
          }
      }
    }
  }
};

std::mutex g_mu;

std::shared_ptr<spdlog::logger> Make(std::string_view name, spdlog::sink_ptr sink,
                                     spdlog::level::level_enum level) {
  auto logger = std::make_shared<spdlog::logger>(std::string(name), std::move(sink));
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  return logger;
}

spdlog::sink_ptr DefaultSink() {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %n: %v");
  return sink;
}

std::array<std::shared_ptr<spdlog::logger>, kNames.size()>& Loggers() {
  static auto loggers = [] {
    std::array<std::shared_ptr<spdlog::logger>, kNames.size()> out;
    auto sink = DefaultSink();
    for (std::size_t i = 0; i < kNames.size(); ++i)
      out[i] = Make(kNames[i], sink, spdlog::level::info);
    return out;
  }();
  return loggers;
}

}  // namespace

Result<spdlog::level::level_enum> ParseLevel(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, spdlog::level::level_enum>, 7> kLevels{{
      {"trace", spdlog::level::trace},
      {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},
      {"error", spdlog::level::err},
      {"critical", spdlog::level::critical},
      {"off", spdlog::level::off},
  }};
  for (const auto& [name, level] : kLevels) {
    if (name == text) return level;
  }
  return Fail(ErrorCode::invalid_argument,
              "log level '" + std::string(text) +
                  "' is not one of trace, debug, info, warn, error, critical, off");
}

Result<Format> ParseFormat(std::string_view text) {
  if (text == "text") return Format::text;
  if (text == "json") return Format::json;
  return Fail(ErrorCode::invalid_argument,
              "log format '" + std::string(text) + "' is not one of text, json");
}

Result<void> Init(const Options& options) {
  spdlog::sink_ptr sink;
  if (options.file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    try {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file);
    } catch (const spdlog::spdlog_ex& e) {
      return Fail(ErrorCode::io, "cannot open log file " + options.file + ": " + e.what());
    }
  }
  if (options.format == Format::json) {
    sink->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %n: %v");
  }
  std::lock_guard lock(g_mu);
  for (auto& logger : Loggers()) {
    logger->sinks().assign(1, sink);
    logger->set_level(options.level);
  }
  return {};
}

void SetLevel(spdlog::level::level_enum level) {
  std::lock_guard lock(g_mu);
  for (auto& logger : Loggers()) logger->set_level(level);
}

spdlog::logger& Get(std::string_view name) {
  std::lock_guard lock(g_mu);
  auto& loggers = Loggers();
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return *loggers[i];
  }
  std::fprintf(stderr, "steward: unknown logger '%.*s'\n", static_cast<int>(name.size()),
               name.data());
  std::abort();
}

}  // namespace steward::log
