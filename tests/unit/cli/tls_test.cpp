// stewardctl tls init/issue: the files, their modes, key type and SANs; the controller's TLS
// loader on what those commands write and on hostile files.
#include "cli/tls.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <filesystem>
#include <set>

#include "common/files.hpp"
#include "common/openssl_handles.hpp"
#include "common/tls_context.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::cli::tls {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

mode_t Mode(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

ossl::X509Ptr ReadCert(const fs::path& p) {
  const auto pem = files::ReadFile(p, 1 << 20).value();
  auto bio = ossl::MemoryBio(pem);
  return ossl::X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

ossl::Pkey ReadKey(const fs::path& p) {
  const auto pem = files::ReadFile(p, 1 << 20).value();
  auto bio = ossl::MemoryBio(pem);
  return ossl::Pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::set<std::string> Sans(X509* cert) {
  std::set<std::string> out;
  ossl::GeneralNames names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
    if (n->type == GEN_DNS) {
      out.insert("DNS:" +
                 std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName))));
    } else if (n->type == GEN_IPADD) {
      out.insert("IP:" + std::to_string(ASN1_STRING_length(n->d.iPAddress)) + "bytes");
    }
  }
  return out;
}

ServerCertSpec Spec() {
  ServerCertSpec s;
  s.names = {"controller.example", "c2.example"};
  s.ips = {"10.0.0.5", "::1"};
  return s;
}

TEST(TlsInit, WritesACaAndAControllerCertificateWithItsNames) {
  TempDir d;
  const auto dir = d / "pki";
  ASSERT_TRUE(InitCa(dir.string(), Spec(), 3650));
  EXPECT_EQ(Mode(dir / kCaKey), 0600u);
  EXPECT_EQ(Mode(dir / kServerKey), 0600u);
  EXPECT_EQ(Mode(dir / kCaCert), 0644u);
  EXPECT_EQ(Mode(dir), 0700u);

  auto ca = ReadCert(dir / kCaCert);
  auto cert = ReadCert(dir / kServerCert);
  ASSERT_TRUE(ca && cert);
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  auto ca_key = ReadKey(dir / kCaKey);
  auto key = ReadKey(dir / kServerKey);
  ASSERT_TRUE(ca_key && key);
  EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_EC);
  char group[64] = {0};
  size_t len = 0;
  EVP_PKEY_get_group_name(key.get(), group, sizeof group, &len);
  EXPECT_STREQ(group, "prime256v1");
  EXPECT_EQ(X509_verify(cert.get(), ca_key.get()), 1);  // signed by the CA
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_EQ(Sans(cert.get()), (std::set<std::string>{"DNS:controller.example", "DNS:c2.example",
                                                     "IP:4bytes", "IP:16bytes"}));
  EXPECT_EQ(X509_check_host(cert.get(), "c2.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "10.0.0.5", 0), 1);
  EXPECT_TRUE(
      steward::tls::MakeServerContext((dir / kServerCert).string(), (dir / kServerKey).string()));

  auto again = InitCa(dir.string(), Spec(), 3650);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::already_exists);
  EXPECT_NE(again.error().message.find("tls issue"), std::string::npos);
}

TEST(TlsIssue, IssuesForAReplicaWithTheSameCa) {
  TempDir d;
  ASSERT_TRUE(InitCa((d / "pki").string(), Spec(), 3650));
  ServerCertSpec replica;
  replica.names = {"replica.example"};
  ASSERT_TRUE(IssueServerCert((d / "pki").string(), replica, (d / "replica").string()));
  auto cert = ReadCert(d / "replica" / kServerCert);
  auto ca_key = ReadKey(d / "pki" / kCaKey);
  ASSERT_TRUE(cert && ca_key);
  EXPECT_EQ(X509_verify(cert.get(), ca_key.get()), 1);
  EXPECT_EQ(Sans(cert.get()), std::set<std::string>{"DNS:replica.example"});
  EXPECT_EQ(Mode(d / "replica" / kServerKey), 0600u);
  EXPECT_FALSE(fs::exists(d / "replica" / kCaKey));
}

TEST(TlsIssue, RefusesBadNamesAddressesAndCaFiles) {
  TempDir d;
  ServerCertSpec none;
  EXPECT_EQ(InitCa((d / "a").string(), none, 10).error().code, ErrorCode::usage);
  ServerCertSpec bad_ip;
  bad_ip.ips = {"10.0.0.300"};
  auto r = InitCa((d / "b").string(), bad_ip, 10);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'10.0.0.300' is not an IPv4 or IPv6 address"),
            std::string::npos);
  ServerCertSpec bad_name;
  bad_name.names = {"a b"};
  EXPECT_EQ(InitCa((d / "c").string(), bad_name, 10).error().code, ErrorCode::usage);

  ASSERT_TRUE(InitCa((d / "pki").string(), Spec(), 10));
  const auto out = (d / "out").string();
  ASSERT_TRUE(files::AtomicWrite(d / "pki" / kCaCert, "garbage"));
  r = IssueServerCert((d / "pki").string(), Spec(), out);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find((d / "pki" / kCaCert).string()), std::string::npos);

  TempDir other;
  ASSERT_TRUE(InitCa(other.path().string(), Spec(), 10));
  fs::copy_file(other / kCaCert, d / "pki" / kCaCert, fs::copy_options::overwrite_existing);
  r = IssueServerCert((d / "pki").string(), Spec(), out);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("is not the key of the CA certificate"), std::string::npos)
      << r.error().message;
  r = IssueServerCert((d / "missing").string(), Spec(), out);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("ca.pem"), std::string::npos) << r.error().message;
}

TEST(TlsServerContext, HostileFilesAreErrorsNamingTheFile) {
  TempDir d;
  ASSERT_TRUE(InitCa((d / "pki").string(), Spec(), 10));
  const auto cert = (d / "pki" / kServerCert).string();
  const auto key = (d / "pki" / kServerKey).string();
  const auto garbage = d.Write("garbage.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n");

  auto r = steward::tls::MakeServerContext(garbage, key);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::config_invalid);
  EXPECT_NE(r.error().message.find("tls_cert_file " + garbage + " holds no PEM certificate"),
            std::string::npos)
      << r.error().message;

  r = steward::tls::MakeServerContext(cert, garbage);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("tls_key_file " + garbage), std::string::npos)
      << r.error().message;

  const auto ca_key = (d / "pki" / kCaKey).string();
  r = steward::tls::MakeServerContext(cert, ca_key);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("tls_key_file " + ca_key +
                                   " is not the key of the "
                                   "certificate in tls_cert_file " +
                                   cert),
            std::string::npos)
      << r.error().message;

  r = steward::tls::MakeServerContext((d / "none.pem").string(), key);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::config_unreadable);
  EXPECT_NE(r.error().message.find("none.pem"), std::string::npos);
}

}  // namespace
}  // namespace steward::cli::tls
