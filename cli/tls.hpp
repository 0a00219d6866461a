// A certificate authority for one fleet: `stewardctl tls init` makes the CA and the first
// controller certificate, `stewardctl tls issue` more controller certificates. ECDSA P-256
// keys, X.509 v3 with the names and addresses a controller answers on as SANs. The CA key
// signs controller certificates only; keep it off the network.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"

namespace steward::cli::tls {

// File names in a CA directory and in an issued certificate's directory.
inline constexpr const char* kCaCert = "ca.pem";              // what nodes use as ca_file
inline constexpr const char* kCaKey = "ca.key";               // 0600, keep offline
inline constexpr const char* kServerCert = "controller.pem";  // tls_cert_file
inline constexpr const char* kServerKey = "controller.key";   // tls_key_file, 0600

struct ServerCertSpec {
  std::vector<std::string> names;  // DNS names; the first is also the subject CN
  std::vector<std::string> ips;    // IPv4/IPv6 addresses
  int days = 397;
  WallTime not_before = std::chrono::system_clock::now();
};

// Writes ca.pem and ca.key (valid ca_days) into `dir`, then issues controller.pem and
// controller.key there. Refuses a directory that already holds a CA key.
Result<void> InitCa(const std::string& dir, const ServerCertSpec& server, int ca_days);

// Issues controller.pem and controller.key into `out_dir` with the CA in `ca_dir` (replacing
// earlier ones atomically, so a running controller reloads them on SIGHUP).
Result<void> IssueServerCert(const std::string& ca_dir, const ServerCertSpec& spec,
                             const std::string& out_dir);

}  // namespace steward::cli::tls
