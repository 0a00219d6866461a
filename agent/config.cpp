#include "agent/config.hpp"

#include "common/config.hpp"
#include "common/hostport.hpp"

namespace steward::agent {

namespace {

using namespace std::chrono_literals;

Result<Config> FromDocument(Result<config::Document> doc, const std::string& name) {
  if (!doc) return std::unexpected(doc.error());
  Config cfg;
  cfg.path = name;
  config::Section root = doc->Root();
  root.Get("listen", cfg.listen);
  root.Get("state_dir", cfg.state_dir);
  root.Get("flags_file", cfg.flags_file);
  root.GetEnum("log_level", cfg.log_level,
               {"trace", "debug", "info", "warn", "error", "critical", "off"});
  root.GetEnum("log_format", cfg.log_format, {"text", "json"});
  root.Get("test_load_delay", cfg.load_delay, 0s, 10min);
  if (auto r = ParseHostPort(cfg.listen); !r) root.Invalid("listen", r.error().message);
  if (cfg.state_dir.empty()) root.Invalid("state_dir", "a directory path");
  if (auto console = root.Table("console")) {
    console->Get("listen", cfg.console_listen);
    if (auto r = ParseHostPort(cfg.console_listen); !r)
      console->Invalid("listen", r.error().message);
  }
  if (auto r = doc->Finish(); !r) return std::unexpected(r.error());
  return cfg;
}

}  // namespace

Result<Config> ParseConfig(std::string_view text, const std::string& name) {
  return FromDocument(config::Document::Parse(text, name), name);
}

Result<Config> LoadConfig(const std::string& path) {
  return FromDocument(config::Document::Load(path), path);
}

}  // namespace steward::agent
