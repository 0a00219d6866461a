// steward-controller's configuration (ARCHITECTURE §3).
#pragma once

#include <string>

#include "common/clock.hpp"
#include "common/error.hpp"

namespace steward::controller {

struct Config {
  std::string path;
  std::string listen = "127.0.0.1:8443";
  std::string public_url;  // how nodes reach this controller; default http://<listen>
  std::string store = "sqlite:/var/lib/steward-controller/controller.db";
  std::string root = "/etc/steward/root.json";
  std::string admin_token_file = "/etc/steward/admin-token";
  std::string enroll_token_file = "/etc/steward/enroll-token";
  std::string viewer_token_file;  // dashboard read-only sign-in tokens; "": no viewers
  std::string blob_dir = "/var/lib/steward-controller/blobs";
  std::string log_level = "info";
  std::string log_format = "text";
  Duration checkin_interval = std::chrono::seconds(60);  // told to nodes
  double halt_rollback_rate = 0.05;
  std::int64_t halt_min_attempts = 20;
  std::int64_t threads = 1;          // HTTP server threads; one io_context either way
  bool allow_insecure_http = false;  // plain-http artifact URLs beyond loopback (development)
  std::string tls_cert_file;         // PEM chain, server certificate first; empty: plain HTTP
  std::string tls_key_file;          // PEM private key of that certificate
  std::string artifact_ca_file;      // CA bundle for artifact checks on publish; "": the system's
};

Result<Config> LoadConfig(const std::string& path);
Result<Config> ParseConfig(std::string_view text, const std::string& name);

}  // namespace steward::controller
