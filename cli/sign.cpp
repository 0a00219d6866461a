// stewardctl sign / verify: minisign signatures, interchangeable with `minisign -S` / `-V`.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "common/clock.hpp"
#include "common/files.hpp"
#include "common/minisign.hpp"
#include "common/trust.hpp"

namespace steward::cli {

namespace {

struct SignOptions {
  std::string sec;
  std::string password_file;
  std::string trusted_comment;
  bool has_trusted_comment = false;
  std::string sig_file;
  std::string label;
  std::string file;
};

struct VerifyOptions {
  std::string pub;
  std::string pub_base64;
  std::string sig_file;
  bool allow_legacy = false;
  bool quiet = false;
  std::string file;
};

Result<minisign::SecretKey> LoadSecretKey(const std::string& path,
                                          const std::string& password_file) {
  auto text = ReadInput(path, minisign::kMaxKeyFile, ErrorCode::key_malformed);
  if (!text) return std::unexpected(text.error());
  auto encrypted = minisign::SecretKeyFileIsEncrypted(*text);
  if (!encrypted) return std::unexpected(encrypted.error().Wrap(path));
  std::optional<std::string> password;
  if (*encrypted) {
    auto pw = password_file.empty() ? PromptPassword("Password for " + path + ": ")
                                    : ReadPasswordFile(password_file);
    if (!pw) return std::unexpected(pw.error());
    password = std::move(*pw);
  }
  auto key = minisign::ParseSecretKeyFile(
      *text, password ? std::optional<std::string_view>(*password) : std::nullopt);
  if (!key) return std::unexpected(key.error().Wrap(path));
  return key;
}

int Sign(const SignOptions& o) {
  if (!o.label.empty() && !o.sig_file.empty()) {
    return Report(Error{ErrorCode::usage, "give either --label or -x, not both"});
  }
  if (!o.label.empty() && !trust::IsValidLabel(o.label)) {
    return Report(Error{ErrorCode::usage, "label '" + o.label + "' is not valid ([A-Za-z0-9_.-])"});
  }
  auto key = LoadSecretKey(o.sec, o.password_file);
  if (!key) return Report(key.error());
  std::string comment = o.trusted_comment;
  if (!o.has_trusted_comment) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         SystemClock::Instance().Now().time_since_epoch())
                         .count();
    comment =
        minisign::DefaultTrustedComment(now, std::filesystem::path(o.file).filename().string());
  }
  auto sig = minisign::SignFile(*key, o.file, comment);
  if (!sig) return Report(sig.error());
  const std::string out = !o.sig_file.empty() ? o.sig_file
                          : !o.label.empty()  ? o.file + "." + o.label + ".minisig"
                                              : o.file + ".minisig";
  if (auto ok = files::AtomicWrite(out, sig->ToFile(), 0644); !ok) return Report(ok.error());
  std::cout << "Signed " << o.file << " with key " << minisign::KeyIdHex(key->key_id()) << ": "
            << out << "\n";
  return exit_code::kOk;
}

int Verify(const VerifyOptions& o) {
  Result<minisign::PublicKey> key = Fail(ErrorCode::usage, "give -p FILE or -P KEY");
  if (!o.pub.empty() && !o.pub_base64.empty()) {
    return Report(Error{ErrorCode::usage, "give either -p or -P, not both"});
  }
  if (!o.pub.empty()) {
    auto text = ReadInput(o.pub, minisign::kMaxKeyFile, ErrorCode::key_malformed);
    if (!text) return Report(text.error());
    key = minisign::ParsePublicKeyFile(*text);
    if (!key) return Report(key.error().Wrap(o.pub));
  } else if (!o.pub_base64.empty()) {
    key = minisign::ParsePublicKeyBase64(o.pub_base64);
  }
  if (!key) return Report(key.error());
  const std::string sig_path = o.sig_file.empty() ? o.file + ".minisig" : o.sig_file;
  auto sig_text = ReadInput(sig_path, minisign::kMaxSignatureFile, ErrorCode::sig_malformed);
  if (!sig_text) return Report(sig_text.error());
  auto sig = minisign::ParseSignatureFile(*sig_text);
  if (!sig) return Report(sig.error().Wrap(sig_path));
  auto comment = minisign::VerifyFile(*key, *sig, o.file, {o.allow_legacy});
  if (!comment) return Report(comment.error().Wrap(o.file));
  if (!o.quiet) {
    std::cout << "Signature and comment signature verified\nTrusted comment: " << *comment << "\n";
  }
  return exit_code::kOk;
}

}  // namespace

void AddSignCommands(CLI::App& app, Action& action) {
  auto so = std::make_shared<SignOptions>();
  auto* sign = app.add_subcommand(
      "sign", "Sign a file with a minisign secret key (prehashed ED, like minisign -S)");
  sign->add_option("-s,--secret", so->sec, "Secret key file")->required();
  sign->add_option("--password-file", so->password_file,
                   "Read the key's password from the first line of this file");
  sign->add_option("-t,--trusted-comment", so->trusted_comment,
                   "Trusted comment (default: timestamp:<now>\\tfile:<name>\\thashed)");
  sign->add_option("-x,--signature", so->sig_file,
                   "Signature file to write (default FILE.minisig)");
  sign->add_option("--label", so->label,
                   "Write FILE.LABEL.minisig, as root.json and manifests are signed");
  sign->add_option("FILE", so->file, "File to sign")->required()->check(CLI::ExistingFile);
  sign->callback([&action, so, sign] {
    so->has_trusted_comment = sign->count("--trusted-comment") > 0;
    action = [so] { return Sign(*so); };
  });

  auto vo = std::make_shared<VerifyOptions>();
  auto* verify = app.add_subcommand(
      "verify", "Verify a minisign signature and print its trusted comment (like minisign -V)");
  verify->add_option("-p,--public", vo->pub, "Public key file");
  verify->add_option("-P,--public-key", vo->pub_base64, "Public key as base64 (RW...)");
  verify->add_option("-x,--signature", vo->sig_file, "Signature file (default FILE.minisig)");
  verify->add_flag("--allow-legacy", vo->allow_legacy,
                   "Accept legacy non-prehashed 'Ed' signatures");
  verify->add_flag("-q,--quiet", vo->quiet, "Print nothing on success");
  verify->add_option("FILE", vo->file, "Signed file")->required();
  verify->callback([&action, vo] { action = [vo] { return Verify(*vo); }; });
}

}  // namespace steward::cli
