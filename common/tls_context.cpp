#include "common/tls_context.hpp"

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <vector>

#include "common/files.hpp"
#include "common/log.hpp"
#include "common/openssl_handles.hpp"

namespace steward::tls {

namespace {

constexpr std::size_t kMaxPemFile = 1 << 20;

Result<std::string> ReadPem(const std::string& path, std::string_view key) {
  auto text = files::ReadFile(path, kMaxPemFile);
  if (!text) {
    return Fail(ErrorCode::config_unreadable, "cannot read " + std::string(key) + " " + path +
                                                  ": " + text.error().message +
                                                  "; check the path and its permissions");
  }
  return text;
}

}  // namespace

Result<std::shared_ptr<boost::asio::ssl::context>> MakeServerContext(const std::string& cert_file,
                                                                     const std::string& key_file) {
  auto cert_pem = ReadPem(cert_file, "tls_cert_file");
  if (!cert_pem) return std::unexpected(cert_pem.error());
  auto key_pem = ReadPem(key_file, "tls_key_file");
  if (!key_pem) return std::unexpected(key_pem.error());

  ERR_clear_error();
  std::vector<ossl::X509Ptr> chain;
  auto bio = ossl::MemoryBio(*cert_pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    chain.emplace_back(cert);
  }
  ERR_clear_error();  // the read that ended the loop
  if (chain.empty()) {
    return Fail(ErrorCode::config_invalid,
                "tls_cert_file " + cert_file +
                    " holds no PEM certificate (expected -----BEGIN CERTIFICATE-----); give the "
                    "server certificate followed by its intermediates");
  }
  auto key_bio = ossl::MemoryBio(*key_pem);
  ossl::Pkey key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    const auto why = ossl::TakeError();
    return Fail(ErrorCode::config_invalid,
                "tls_key_file " + key_file + " holds no readable PEM private key (" + why +
                    "); give the unencrypted key of the certificate in " + cert_file);
  }

  auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) {
    return Fail(ErrorCode::internal, "this OpenSSL knows none of the TLS 1.2 ciphers " +
                                         std::string(kTls12Ciphers) + ": " + ossl::TakeError());
  }
  if (SSL_CTX_use_certificate(native, chain.front().get()) != 1) {
    return Fail(ErrorCode::config_invalid, "tls_cert_file " + cert_file +
                                               ": the certificate is not usable (" +
                                               ossl::TakeError() + ")");
  }
  for (std::size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(native, chain[i].get()) != 1) {
      return Fail(ErrorCode::config_invalid, "tls_cert_file " + cert_file + ": certificate " +
                                                 std::to_string(i + 1) + " is not usable (" +
                                                 ossl::TakeError() + ")");
    }
  }
  if (SSL_CTX_use_PrivateKey(native, key.get()) != 1 || SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return Fail(ErrorCode::config_invalid,
                "tls_key_file " + key_file +
                    " is not the key of the certificate in tls_cert_file " + cert_file +
                    "; give the key that was issued with that certificate");
  }
  const ASN1_TIME* not_after = X509_get0_notAfter(chain.front().get());
  if (X509_cmp_current_time(not_after) < 0) {
    log::Get("http").warn(
        "tls_cert_file {} has expired; clients will refuse it until it is "
        "replaced (issue a new one and send SIGHUP)",
        cert_file);
  }
  return ctx;
}

}  // namespace steward::tls
