#include "controller/config.hpp"

#include "common/config.hpp"
#include "common/hostport.hpp"
#include "controller/store_url.hpp"

namespace steward::controller {

namespace {

using namespace std::chrono_literals;

Result<Config> FromDocument(Result<config::Document> doc, const std::string& name) {
  if (!doc) return std::unexpected(doc.error());
  Config cfg;
  cfg.path = name;
  config::Section root = doc->Root();
  root.Get("listen", cfg.listen);
  root.Get("public_url", cfg.public_url);
  root.Get("store", cfg.store);
  root.Get("root", cfg.root);
  root.Get("admin_token_file", cfg.admin_token_file);
  root.Get("enroll_token_file", cfg.enroll_token_file);
  root.Get("viewer_token_file", cfg.viewer_token_file);
  root.Get("blob_dir", cfg.blob_dir);
  root.GetEnum("log_level", cfg.log_level,
               {"trace", "debug", "info", "warn", "error", "critical", "off"});
  root.GetEnum("log_format", cfg.log_format, {"text", "json"});
  root.Get("checkin_interval", cfg.checkin_interval, 1s, 24h);
  root.Get("threads", cfg.threads, 1, 64);
  root.Get("allow_insecure_http", cfg.allow_insecure_http);
  root.Get("tls_cert_file", cfg.tls_cert_file);
  root.Get("tls_key_file", cfg.tls_key_file);
  root.Get("artifact_ca_file", cfg.artifact_ca_file);
  if (cfg.tls_cert_file.empty() != cfg.tls_key_file.empty()) {
    root.Invalid(cfg.tls_cert_file.empty() ? "tls_cert_file" : "tls_key_file",
                 "HTTPS needs both tls_cert_file and tls_key_file (stewardctl tls init writes "
                 "them); set both, or neither for plain HTTP");
  }
  if (auto r = ParseHostPort(cfg.listen); !r) root.Invalid("listen", r.error().message);
  if (!cfg.store.starts_with("sqlite:") && !IsPostgresUrl(cfg.store)) {
    root.Invalid("store",
                 "allowed: sqlite:/path/controller.db or a postgresql:// URL (libpq's; the "
                 "password goes in a password file, never in the URL)");
  } else if (IsPostgresUrl(cfg.store) && HasPassword(cfg.store)) {
    root.Invalid("store",
                 "the URL carries a password; put it in a password file (~/.pgpass or "
                 "PGPASSFILE) so it stays out of the config and the logs");
  } else if (cfg.store.starts_with("sqlite:") && cfg.store.size() <= 7) {
    root.Invalid("store",
                 "sqlite: needs a path, e.g. sqlite:/var/lib/steward-controller/controller.db");
  }
  if (!cfg.public_url.empty() && !cfg.public_url.starts_with("http://") &&
      !cfg.public_url.starts_with("https://")) {
    root.Invalid("public_url", "an http:// or https:// URL");
  }
  if (auto rollout = root.Table("rollout")) {
    rollout->Get("halt_rollback_rate", cfg.halt_rollback_rate, 0.0, 1.0);
    rollout->Get("halt_min_attempts", cfg.halt_min_attempts, 1, 1'000'000);
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

}  // namespace steward::controller
