// stewardctl tls init|issue (cli/tls.hpp) on OpenSSL's C API; every handle has one owner
// (common/openssl_handles.hpp).
#include "cli/tls.hpp"

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "common/files.hpp"
#include "common/openssl_handles.hpp"

namespace steward::cli::tls {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxPem = 1 << 20;

Error SslError(std::string what) {
  const auto why = ossl::TakeError();
  return Error{ErrorCode::internal, what + (why.empty() ? "" : ": " + why)};
}

Result<ossl::Pkey> NewP256Key() {
  ossl::PkeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx.get(), NID_X9_62_prime256v1) != 1 ||
      EVP_PKEY_keygen(ctx.get(), &key) != 1) {
    return std::unexpected(SslError("generating an ECDSA P-256 key"));
  }
  return ossl::Pkey(key);
}

Result<void> AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ossl::Extension ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return std::unexpected(
        SslError("adding the extension " + std::string(OBJ_nid2sn(nid)) + " = " + value));
  }
  return {};
}

// A certificate for `key` named `cn`, valid from `from` for `days`, not yet signed. `issuer`
// null: self-issued.
Result<ossl::X509Ptr> NewCert(EVP_PKEY* key, const std::string& cn, WallTime from, int days,
                              X509* issuer) {
  ossl::X509Ptr cert(X509_new());
  unsigned char serial[16];
  if (!cert || RAND_bytes(serial, sizeof serial) != 1) {
    return std::unexpected(SslError("creating a certificate"));
  }
  serial[0] &= 0x7f;  // positive
  ossl::Bignum bn(BN_bin2bn(serial, sizeof serial, nullptr));
  const auto start = std::chrono::system_clock::to_time_t(from);
  const auto end = start + static_cast<time_t>(days) * 86400;
  if (!bn || X509_set_version(cert.get(), 2) != 1 ||
      BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) == nullptr ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()), start) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), end) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return std::unexpected(SslError("filling in a certificate"));
  }
  ossl::X509Name name(X509_NAME_new());
  if (!name ||
      X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1 ||
      X509_set_subject_name(cert.get(), name.get()) != 1 ||
      X509_set_issuer_name(cert.get(),
                           issuer != nullptr ? X509_get_subject_name(issuer) : name.get()) != 1) {
    return std::unexpected(SslError("naming a certificate '" + cn + "'"));
  }
  return cert;
}

Result<std::string> ToPem(X509* cert) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return std::unexpected(SslError("writing a certificate as PEM"));
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

Result<std::string> ToPem(EVP_PKEY* key) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return std::unexpected(SslError("writing a private key as PEM"));
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// Keys first, each file atomically: a reader never sees a certificate without its key.
Result<void> WritePair(const fs::path& dir, const char* cert_name, X509* cert, const char* key_name,
                       EVP_PKEY* key) {
  auto key_pem = ToPem(key);
  if (!key_pem) return std::unexpected(key_pem.error());
  auto cert_pem = ToPem(cert);
  if (!cert_pem) return std::unexpected(cert_pem.error());
  if (auto r = files::AtomicWrite(dir / key_name, *key_pem, 0600); !r) return r;
  return files::AtomicWrite(dir / cert_name, *cert_pem, 0644);
}

Result<void> CheckSpec(const ServerCertSpec& spec) {
  if (spec.names.empty() && spec.ips.empty()) {
    return Fail(ErrorCode::usage,
                "a controller certificate needs at least one --name (DNS name) or --ip that "
                "nodes use in the controller URL");
  }
  if (spec.days < 1 || spec.days > 3650) {
    return Fail(ErrorCode::usage,
                "--days " + std::to_string(spec.days) + " is out of range 1..3650");
  }
  for (const auto& n : spec.names) {
    const bool ok = !n.empty() && n.size() <= 253 && n.front() != '.' && n.front() != '-' &&
                    n.find_first_not_of(
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789.-*") == std::string::npos;
    if (!ok) {
      return Fail(ErrorCode::usage, "--name '" + n +
                                        "' is not a DNS name (letters, digits, '-', '.'); give "
                                        "IP addresses with --ip");
    }
  }
  for (const auto& ip : spec.ips) {
    std::unique_ptr<ASN1_OCTET_STRING, ossl::Deleter<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>
        parsed(a2i_IPADDRESS(ip.c_str()));
    if (!parsed) {
      ERR_clear_error();
      return Fail(ErrorCode::usage, "--ip '" + ip + "' is not an IPv4 or IPv6 address");
    }
  }
  return {};
}

// Signs a controller certificate for `spec` with the CA and writes it with its new key.
Result<void> Issue(X509* ca, EVP_PKEY* ca_key, const ServerCertSpec& spec, const fs::path& out) {
  if (auto ok = CheckSpec(spec); !ok) return ok;
  auto key = NewP256Key();
  if (!key) return std::unexpected(key.error());
  const std::string cn = spec.names.empty() ? spec.ips.front() : spec.names.front();
  auto cert = NewCert(key->get(), cn, spec.not_before, spec.days, ca);
  if (!cert) return std::unexpected(cert.error());
  std::string san;
  for (const auto& n : spec.names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
  for (const auto& ip : spec.ips) san += (san.empty() ? "IP:" : ",IP:") + ip;
  for (const auto& [nid, value] :
       std::vector<std::pair<int, std::string>>{{NID_basic_constraints, "critical,CA:FALSE"},
                                                {NID_key_usage, "critical,digitalSignature"},
                                                {NID_ext_key_usage, "serverAuth"},
                                                {NID_subject_key_identifier, "hash"},
                                                {NID_authority_key_identifier, "keyid:always"},
                                                {NID_subject_alt_name, san}}) {
    if (auto r = AddExtension(cert->get(), ca, nid, value); !r) return r;
  }
  if (X509_sign(cert->get(), ca_key, EVP_sha256()) == 0) {
    return std::unexpected(SslError("signing the controller certificate"));
  }
  if (auto r = files::MakeDirs(out, 0755); !r) return r;
  return WritePair(out, kServerCert, cert->get(), kServerKey, key->get());
}

Result<std::string> ReadPemFile(const fs::path& path) {
  auto text = files::ReadFile(path, kMaxPem);
  if (!text) {
    return std::unexpected(text.error().Wrap("reading " + path.string() +
                                             " (is --ca-dir the directory of tls init?)"));
  }
  return text;
}

}  // namespace

Result<void> InitCa(const std::string& dir, const ServerCertSpec& server, int ca_days) {
  if (auto ok = CheckSpec(server); !ok) return ok;
  const fs::path d(dir);
  std::error_code ec;
  if (fs::symlink_status(d / kCaKey, ec).type() != fs::file_type::not_found) {
    return Fail(ErrorCode::already_exists,
                (d / kCaKey).string() +
                    " exists; refusing to replace a fleet CA (nodes trust it). Issue more "
                    "certificates with: stewardctl tls issue --ca-dir " +
                    dir);
  }
  if (auto r = files::MakeDirs(d, 0700); !r) return r;
  auto key = NewP256Key();
  if (!key) return std::unexpected(key.error());
  auto ca =
      NewCert(key->get(), "Steward fleet CA", std::chrono::system_clock::now(), ca_days, nullptr);
  if (!ca) return std::unexpected(ca.error());
  for (const auto& [nid, value] : std::vector<std::pair<int, std::string>>{
           {NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
           {NID_key_usage, "critical,keyCertSign,cRLSign"},
           {NID_subject_key_identifier, "hash"}}) {
    if (auto r = AddExtension(ca->get(), ca->get(), nid, value); !r) return r;
  }
  if (X509_sign(ca->get(), key->get(), EVP_sha256()) == 0) {
    return std::unexpected(SslError("signing the CA certificate"));
  }
  if (auto r = WritePair(d, kCaCert, ca->get(), kCaKey, key->get()); !r) return r;
  return Issue(ca->get(), key->get(), server, d);
}

Result<void> IssueServerCert(const std::string& ca_dir, const ServerCertSpec& spec,
                             const std::string& out_dir) {
  const fs::path d(ca_dir);
  auto cert_pem = ReadPemFile(d / kCaCert);
  if (!cert_pem) return std::unexpected(cert_pem.error());
  auto key_pem = ReadPemFile(d / kCaKey);
  if (!key_pem) return std::unexpected(key_pem.error());
  auto cert_bio = ossl::MemoryBio(*cert_pem);
  ossl::X509Ptr ca(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!ca) {
    ERR_clear_error();
    return Fail(ErrorCode::key_malformed, (d / kCaCert).string() +
                                              " holds no PEM certificate (expected -----BEGIN "
                                              "CERTIFICATE-----); is this the CA directory?");
  }
  auto key_bio = ossl::MemoryBio(*key_pem);
  ossl::Pkey key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    ERR_clear_error();
    return Fail(ErrorCode::key_malformed,
                (d / kCaKey).string() + " holds no unencrypted PEM private key");
  }
  if (X509_check_private_key(ca.get(), key.get()) != 1) {
    ERR_clear_error();
    return Fail(
        ErrorCode::sig_key_mismatch,
        (d / kCaKey).string() + " is not the key of the CA certificate " + (d / kCaCert).string());
  }
  return Issue(ca.get(), key.get(), spec, fs::path(out_dir));
}

namespace {

struct TlsOptions {
  std::string dir;
  std::string out;
  ServerCertSpec spec;
  int ca_days = 3650;
};

void AddSpecOptions(CLI::App* sub, TlsOptions& o) {
  sub->add_option("--name", o.spec.names,
                  "DNS name nodes use in the controller URL (repeat for more)");
  sub->add_option("--ip", o.spec.ips, "IP address nodes use in the controller URL (repeat)");
  sub->add_option("--days", o.spec.days, "Validity of the controller certificate in days")
      ->capture_default_str();
}

int Done(const Result<void>& r, const std::string& dir, bool with_ca) {
  if (!r) return Report(r.error());
  const fs::path d(dir);
  if (with_ca) {
    std::cout << "CA certificate: " << (d / kCaCert).string()
              << "  (every node's [controller] ca_file; stewardctl --ca-file)\n"
              << "CA key:         " << (d / kCaKey).string()
              << "  (signs controller certificates only: keep it offline)\n";
  }
  std::cout << "Controller certificate: " << (d / kServerCert).string() << "  (tls_cert_file)\n"
            << "Controller key:         " << (d / kServerKey).string() << "  (tls_key_file)\n";
  return exit_code::kOk;
}

}  // namespace

}  // namespace steward::cli::tls

namespace steward::cli {

void AddTlsCommands(CLI::App& app, Action& action) {
  auto* group = app.add_subcommand("tls", "A CA for the fleet and controller certificates");
  group->require_subcommand(1);
  auto o = std::make_shared<tls::TlsOptions>();
  auto* init = group->add_subcommand(
      "init", "Create a fleet CA (ECDSA P-256) and a certificate for the controller");
  init->add_option("--dir", o->dir,
                   "Directory to write ca.pem, ca.key, controller.pem, "
                   "controller.key")
      ->required();
  tls::AddSpecOptions(init, *o);
  init->add_option("--ca-days", o->ca_days, "Validity of the CA certificate in days")
      ->capture_default_str()
      ->check(CLI::Range(1, 36500));
  init->callback([&action, o] {
    action = [o] { return tls::Done(tls::InitCa(o->dir, o->spec, o->ca_days), o->dir, true); };
  });
  auto* issue = group->add_subcommand(
      "issue", "Issue a certificate for another controller (replica) with the fleet CA");
  issue->add_option("--ca-dir", o->dir, "Directory holding ca.pem and ca.key")->required();
  issue->add_option("--out", o->out, "Directory to write controller.pem and controller.key")
      ->required();
  tls::AddSpecOptions(issue, *o);
  issue->callback([&action, o] {
    action = [o] {
      return tls::Done(tls::IssueServerCert(o->dir, o->spec, o->out), o->out, false);
    };
  });
}

}  // namespace steward::cli
