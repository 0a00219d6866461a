// The HTTPS server's TLS settings in one place: a server context from a PEM certificate chain
// and its key, TLS 1.2 at least, for TLS 1.2 only ECDHE key exchange with AEAD ciphers (TLS 1.3
// suites are all AEAD), no renegotiation, no compression. The context is opaque outside the
// HTTP server; OpenSSL stays inside tls_context.cpp.
#pragma once

#include <memory>
#include <string>

#include "common/error.hpp"

namespace boost::asio::ssl {
class context;
}

namespace steward::tls {

// The TLS 1.2 cipher list (OpenSSL names). TLS 1.3 keeps OpenSSL's default suites.
inline constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Loads `cert_file` (PEM, the server certificate then its intermediates) and `key_file` (PEM
// private key) and checks that they belong together. Errors name the file, say what is wrong
// with it and what to do (config_unreadable for a file that cannot be read, config_invalid for
// one that does not parse or does not match).
Result<std::shared_ptr<boost::asio::ssl::context>> MakeServerContext(const std::string& cert_file,
                                                                     const std::string& key_file);

}  // namespace steward::tls
