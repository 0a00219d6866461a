// stewardctl root init / root verify: the offline root of trust (root.json).
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "cli/commands.hpp"
#include "common/duration.hpp"
#include "common/files.hpp"
#include "common/minisign.hpp"
#include "common/rfc3339.hpp"
#include "common/trust.hpp"

namespace steward::cli {

namespace {

struct InitOptions {
  std::vector<std::string> root_keys;
  std::uint32_t root_threshold = 0;
  std::vector<std::string> release_keys;
  std::uint32_t release_threshold = 0;
  std::string expires;
  std::uint64_t version = 1;
  std::string out;
};

struct VerifyRootOptions {
  std::string previous;
  std::string file;
  std::vector<std::string> sigs;
};

// Labels of `assignments` (LABEL=FILE.pub), adding their keys to `keys`.
Result<std::vector<std::string>> LoadKeys(const std::vector<std::string>& assignments,
                                          std::string_view option,
                                          std::map<std::string, minisign::PublicKey>& keys) {
  std::vector<std::string> labels;
  for (const auto& a : assignments) {
    auto kv = SplitAssignment(a, option);
    if (!kv) return std::unexpected(kv.error());
    const auto& [label, path] = *kv;
    if (!trust::IsValidLabel(label)) {
      return Fail(ErrorCode::usage, "key label '" + label +
                                        "' is not valid ([A-Za-z0-9][A-Za-z0-9_.-]*, at most 64)");
    }
    auto text = ReadInput(path, minisign::kMaxKeyFile, ErrorCode::key_malformed);
    if (!text) return std::unexpected(text.error());
    auto key = minisign::ParsePublicKeyFile(*text);
    if (!key) return std::unexpected(key.error().Wrap(path));
    auto [it, inserted] = keys.emplace(label, *key);
    if (!inserted && !(it->second == *key)) {
      return Fail(ErrorCode::usage, "label '" + label + "' names two different keys");
    }
    labels.push_back(label);
  }
  return labels;
}

int Init(const InitOptions& o) {
  std::map<std::string, minisign::PublicKey> keys;
  auto root_labels = LoadKeys(o.root_keys, "--root-key", keys);
  if (!root_labels) return Report(root_labels.error());
  auto release_labels = LoadKeys(o.release_keys, "--release-key", keys);
  if (!release_labels) return Report(release_labels.error());
  auto ttl = ParseDuration(o.expires);
  if (!ttl) return Report(ttl.error().Wrap("--expires"));
  if (*ttl <= Duration::zero()) return Report(Error{ErrorCode::usage, "--expires must be > 0"});
  const auto expires = SystemClock::Instance().Now() + *ttl;

  nlohmann::ordered_json doc;
  doc["schema"] = trust::kRootSchema;
  doc["version"] = o.version;
  doc["expires"] = FormatRfc3339(expires);
  doc["keys"] = nlohmann::ordered_json::object();
  for (const auto& [label, key] : keys) doc["keys"][label] = key.ToBase64();
  doc["roles"]["root"] = {{"keys", *root_labels}, {"threshold", o.root_threshold}};
  doc["roles"]["release"] = {{"keys", *release_labels}, {"threshold", o.release_threshold}};
  const std::string text = doc.dump(2) + "\n";
  // Whatever we write must pass the same parser every host runs.
  auto parsed = trust::ParseRoot(text);
  if (!parsed) return Report(parsed.error());
  if (auto ok = files::AtomicWrite(o.out, text, 0644); !ok) return Report(ok.error());
  std::cout << "Wrote " << o.out << " (version " << o.version << ", expires "
            << FormatRfc3339(expires) << ").\nSign it with " << o.root_threshold
            << " or more root keys:\n";
  for (const auto& label : *root_labels) {
    std::cout << "  stewardctl sign -s " << label << ".key --label " << label << " " << o.out
              << "\n";
  }
  return exit_code::kOk;
}

int VerifyRoot(const VerifyRootOptions& o) {
  auto text = ReadInput(o.file, trust::kMaxRootBytes, ErrorCode::root_malformed);
  if (!text) return Report(text.error());
  auto shape = trust::ParseRoot(*text);
  if (!shape) return Report(shape.error().Wrap(o.file));
  std::optional<trust::Root> previous;
  if (!o.previous.empty()) {
    auto prev_text = ReadInput(o.previous, trust::kMaxRootBytes, ErrorCode::root_malformed);
    if (!prev_text) return Report(prev_text.error());
    auto prev = trust::ParseRoot(*prev_text);
    if (!prev) return Report(prev.error().Wrap(o.previous));
    previous = std::move(*prev);
  }
  std::vector<std::string> sig_paths = o.sigs;
  if (sig_paths.empty()) {
    // Signers of a rotation may be in the old root only: look for both roots' labels.
    std::set<std::string> labels;
    for (const auto& [label, key] : shape->keys) labels.insert(label);
    if (previous) {
      for (const auto& [label, key] : previous->keys) labels.insert(label);
    }
    sig_paths = FindSignatureFiles(o.file, {labels.begin(), labels.end()});
  }
  std::vector<std::string> sigs;
  for (const auto& p : sig_paths) {
    auto s = ReadInput(p, minisign::kMaxSignatureFile, ErrorCode::sig_malformed);
    if (!s) return Report(s.error());
    sigs.push_back(std::move(*s));
  }
  Result<trust::Root> root = previous ? trust::VerifyRootRotation(*previous, *text, sigs)
                                      : trust::VerifyInitialRoot(*text, sigs);
  if (!root) return Report(root.error());
  const bool expired = SystemClock::Instance().Now() >= root->expires;
  std::cout << o.file << ": root version " << root->version << " verified"
            << (o.previous.empty() ? "" : " as the successor of " + o.previous) << "; expires "
            << FormatRfc3339(root->expires) << (expired ? " (EXPIRED)" : "") << "\n";
  if (expired) {
    return Report(
        Error{ErrorCode::expired, o.file + " expired at " + FormatRfc3339(root->expires)});
  }
  return exit_code::kOk;
}

}  // namespace

void AddRootCommands(CLI::App& app, Action& action) {
  auto* root = app.add_subcommand("root", "Create and check root.json, the offline root of trust");
  root->require_subcommand(1);

  auto io = std::make_shared<InitOptions>();
  auto* init = root->add_subcommand("init", "Write a new root.json (then sign it with root keys)");
  init->add_option("--root-key", io->root_keys, "LABEL=FILE.pub of a root key (repeatable)")
      ->required();
  init->add_option("--root-threshold", io->root_threshold, "Root signatures needed")->required();
  init->add_option("--release-key", io->release_keys,
                   "LABEL=FILE.pub of a release key (repeatable)")
      ->required();
  init->add_option("--release-threshold", io->release_threshold, "Release signatures needed")
      ->required();
  init->add_option("--expires", io->expires, "Lifetime from now, e.g. 365d")->required();
  init->add_option("--version", io->version, "Root version (default 1)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 53));
  init->add_option("-o,--output", io->out, "File to write (root.json)")->required();
  init->callback([&action, io] { action = [io] { return Init(*io); }; });

  auto vo = std::make_shared<VerifyRootOptions>();
  auto* verify =
      root->add_subcommand("verify",
                           "Check root.json's signatures (threshold of its own root keys, or with "
                           "--previous of both roots for a rotation) and expiry");
  verify->add_option("--previous", vo->previous, "The trusted root.json this one replaces");
  verify->add_option("ROOT", vo->file, "root.json to check")->required();
  verify->add_option("SIG", vo->sigs, "Signature files (default: ROOT.<label>.minisig found)");
  verify->callback([&action, vo] { action = [vo] { return VerifyRoot(*vo); }; });
}

}  // namespace steward::cli
