// stewardctl key generate: a minisign key pair, readable and usable by `minisign` itself.
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "common/files.hpp"
#include "common/minisign.hpp"

namespace steward::cli {

namespace {

struct GenerateOptions {
  std::string pub;
  std::string sec;
  bool no_password = false;
  std::string password_file;
  std::string kdf = "sensitive";
  bool force = false;
};

int Generate(const GenerateOptions& o) {
  std::optional<std::string> password;
  if (!o.password_file.empty()) {
    auto pw = ReadPasswordFile(o.password_file);
    if (!pw) return Report(pw.error());
    password = std::move(*pw);
  } else if (!o.no_password) {
    auto pw = PromptPassword("Password for the new secret key: ");
    if (!pw) return Report(pw.error());
    auto again = PromptPassword("Password (again): ");
    if (!again) return Report(again.error());
    if (*pw != *again) return Report(Error{ErrorCode::key_password, "passwords do not match"});
    password = std::move(*pw);
  }
  for (const auto& path : {o.pub, o.sec}) {
    std::error_code ec;
    if (!o.force &&
        std::filesystem::symlink_status(path, ec).type() != std::filesystem::file_type::not_found) {
      return Report(Error{ErrorCode::already_exists,
                          path + " exists; refusing to overwrite a key (use --force)"});
    }
  }
  const auto limits = o.kdf == "interactive" ? minisign::KdfLimits::Interactive()
                                             : minisign::KdfLimits::Sensitive();
  const auto key = minisign::SecretKey::Generate();
  auto sec_text =
      key.ToFile(password ? std::optional<std::string_view>(*password) : std::nullopt, limits);
  if (!sec_text) return Report(sec_text.error());
  if (auto ok = files::AtomicWrite(o.sec, *sec_text, 0600); !ok) return Report(ok.error());
  const auto pub = key.public_key();
  if (auto ok = files::AtomicWrite(o.pub, pub.ToFile(), 0644); !ok) return Report(ok.error());
  std::cout << "Key id " << minisign::KeyIdHex(pub.key_id) << "\n"
            << "Secret key: " << o.sec << (password ? " (password-encrypted)" : " (unencrypted)")
            << "\nPublic key: " << o.pub << "\n\n"
            << "Verify with: stewardctl verify -p " << o.pub << " FILE\n"
            << "         or: minisign -Vm FILE -P " << pub.ToBase64() << "\n";
  return exit_code::kOk;
}

}  // namespace

void AddKeyCommands(CLI::App& app, Action& action) {
  auto* key = app.add_subcommand("key", "Manage minisign signing keys");
  key->require_subcommand(1);
  auto o = std::make_shared<GenerateOptions>();
  auto* gen =
      key->add_subcommand("generate",
                          "Create a minisign key pair (the secret key is password-encrypted unless "
                          "--no-password)");
  gen->add_option("-p,--public", o->pub, "Public key file to write (NAME.pub)")->required();
  gen->add_option("-s,--secret", o->sec, "Secret key file to write (NAME.key, mode 0600)")
      ->required();
  auto* nopw = gen->add_flag("--no-password", o->no_password,
                             "Store the secret key unencrypted (like minisign -W)");
  gen->add_option("--password-file", o->password_file,
                  "Read the password from the first line of this file")
      ->excludes(nopw);
  gen->add_option("--kdf", o->kdf,
                  "scrypt cost: sensitive (minisign's default, 1 GiB) or interactive (16 MiB)")
      ->check(CLI::IsMember({"sensitive", "interactive"}));
  gen->add_flag("-f,--force", o->force, "Overwrite existing key files");
  gen->callback([&action, o] { action = [o] { return Generate(*o); }; });
}

}  // namespace steward::cli
