// stewardctl release create|verify|publish|list: signed release manifests, written and
// checked here, then published to and listed from the controller.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/admin_api.hpp"
#include "cli/commands.hpp"
#include "common/duration.hpp"
#include "common/files.hpp"
#include "common/hash.hpp"
#include "common/platform.hpp"
#include "common/protocol.hpp"
#include "common/rfc3339.hpp"
#include "common/semver.hpp"
#include "common/trust.hpp"
#include "common/zstd_patch.hpp"

namespace steward::cli {

namespace {

struct CreateOptions {
  std::string component;
  std::string channel;
  std::string version;
  std::uint64_t sequence = 0;
  std::uint64_t root_version = 1;
  std::vector<std::string> artifacts;
  std::vector<std::string> urls;
  std::vector<std::string> mirrors;
  std::string expires;
  std::string min_updater_version;
  std::string out;
  std::vector<std::string> delta_from;
  std::vector<std::string> delta_urls;
  std::string delta_dir;
  int delta_level = 19;
};

struct VerifyReleaseOptions {
  std::string root;
  std::string manifest;
  std::vector<std::string> sigs;
  std::string component;
  std::string channel;
  std::string platform;
  std::string updater_version;
  bool allow_legacy = false;
};

struct PublishOptions {
  Connection conn;
  std::string manifest;
  std::vector<std::string> signatures;
  bool json_out = false;
};

struct ListOptions {
  Connection conn;
  std::string component, channel;
  bool json_out = false;
};

Result<std::map<std::string, std::vector<std::string>>> ByPlatform(
    const std::vector<std::string>& items, std::string_view option) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& item : items) {
    auto kv = SplitAssignment(item, option);
    if (!kv) return std::unexpected(kv.error());
    if (!IsValidPlatformName(kv->first)) {
      return Fail(ErrorCode::usage, std::string(option) + ": platform '" + kv->first +
                                        "' is not valid (like " + std::string(HostPlatform()) +
                                        ")");
    }
    out[kv->first].push_back(kv->second);
  }
  return out;
}

// One --delta-from: [PLATFORM:]OLD_BINARY[=VERSION].
struct DeltaSource {
  std::string platform;  // empty: the release's only platform
  std::string path;
  std::string version;  // empty: named by its hash in the patch file name
};

Result<DeltaSource> ParseDeltaFrom(const std::string& text) {
  DeltaSource d;
  std::string rest = text;
  if (const auto colon = rest.find(':');
      colon != std::string::npos && IsValidPlatformName(rest.substr(0, colon))) {
    d.platform = rest.substr(0, colon);
    rest = rest.substr(colon + 1);
  }
  if (const auto eq = rest.rfind('='); eq != std::string::npos && eq > 0) {
    if (auto v = SemVer::Parse(rest.substr(eq + 1)); v) {
      d.version = rest.substr(eq + 1);
      rest = rest.substr(0, eq);
    }
  }
  if (rest.empty()) {
    return Fail(ErrorCode::usage,
                "--delta-from '" + text + "' must have the form [PLATFORM:]OLD_BINARY[=VERSION]");
  }
  d.path = rest;
  return d;
}

// `url` with {sha256} and {file} filled in.
std::string FillTemplate(std::string url, const std::string& sha256, const std::string& file) {
  for (const auto& [key, value] : {std::pair<std::string, std::string>{"{sha256}", sha256},
                                   std::pair<std::string, std::string>{"{file}", file}}) {
    for (auto at = url.find(key); at != std::string::npos; at = url.find(key, at + value.size())) {
      url.replace(at, key.size(), value);
    }
  }
  return url;
}

// Where a patch is served when no --delta-url says: an artifact URL that names the artifact's
// SHA-256 (a blob store, the controller's /v1/artifacts/) names the patch's instead; any other
// serves the patch file beside the artifact.
std::string TemplateBeside(const std::string& artifact_url, const std::string& artifact_sha256) {
  std::string url = artifact_url;
  if (const auto at = url.find(artifact_sha256); at != std::string::npos) {
    return url.replace(at, artifact_sha256.size(), "{sha256}");
  }
  return url.substr(0, url.rfind('/') + 1) + "{file}";
}

// The manifest's deltas for one platform's artifact, each patch written to `dir`.
Result<nlohmann::ordered_json> MakeDeltas(const CreateOptions& o, const std::string& platform,
                                          const std::string& artifact_path,
                                          const std::vector<DeltaSource>& sources,
                                          const std::vector<std::string>& templates) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  auto result = files::MappedFile::Open(artifact_path);
  if (!result) return std::unexpected(result.error());
  const std::string result_sha = HexEncode(Sha256Of(result->View()));
  std::vector<std::string> seen;
  for (const auto& src : sources) {
    auto base = files::MappedFile::Open(src.path);
    if (!base) return std::unexpected(base.error().Wrap("--delta-from"));
    const std::string from_sha = HexEncode(Sha256Of(base->View()));
    if (from_sha == result_sha) {
      return Fail(ErrorCode::usage, "--delta-from " + src.path + " is the artifact itself");
    }
    if (std::find(seen.begin(), seen.end(), from_sha) != seen.end()) {
      return Fail(ErrorCode::usage, "--delta-from " + src.path + " is given twice");
    }
    seen.push_back(from_sha);
    auto bytes = patch::Make(base->View(), result->View(), o.delta_level);
    if (!bytes) return std::unexpected(bytes.error().Wrap("patch from " + src.path));
    const std::string sha = HexEncode(Sha256Of(*bytes));
    const std::string file = o.component + "-" + o.version + "-from-" +
                             (src.version.empty() ? from_sha.substr(0, 8) : src.version) + "." +
                             platform + ".zst-patch";
    const std::filesystem::path where = std::filesystem::path(o.delta_dir) / file;
    if (auto w = files::AtomicWrite(where, *bytes, 0644); !w) return std::unexpected(w.error());
    std::vector<std::string> urls;
    for (const auto& t : templates) urls.push_back(FillTemplate(t, sha, file));
    nlohmann::ordered_json d;
    d["from_sha256"] = from_sha;
    d["url"] = urls.front();
    d["mirrors"] = std::vector<std::string>(urls.begin() + 1, urls.end());
    d["size"] = bytes->size();
    d["sha256"] = sha;
    d["format"] = "zstd-patch";
    out.push_back(std::move(d));
    std::cout << "Wrote " << where.string() << " (" << bytes->size() << " bytes, "
              << (100.0 * static_cast<double>(bytes->size()) /
                  static_cast<double>(std::max<std::size_t>(1, result->View().size())))
              << " % of the artifact).\n";
  }
  return out;
}

int Create(CreateOptions o) {
  if (o.delta_dir.empty()) o.delta_dir = std::filesystem::path(o.out).parent_path().string();
  if (o.delta_dir.empty()) o.delta_dir = ".";
  auto artifacts = ByPlatform(o.artifacts, "--artifact");
  if (!artifacts) return Report(artifacts.error());
  auto urls = ByPlatform(o.urls, "--url");
  if (!urls) return Report(urls.error());
  auto mirrors = ByPlatform(o.mirrors, "--mirror");
  if (!mirrors) return Report(mirrors.error());
  for (const auto& [platform, list] : *artifacts) {
    if (list.size() != 1) {
      return Report(Error{ErrorCode::usage, "--artifact given twice for " + platform});
    }
    if (!urls->contains(platform) || (*urls)[platform].size() != 1) {
      return Report(Error{ErrorCode::usage, "give exactly one --url " + platform + "=URL"});
    }
  }
  for (const auto& [platform, list] : *urls) {
    if (!artifacts->contains(platform)) {
      return Report(Error{ErrorCode::usage, "--url for " + platform + " has no --artifact"});
    }
  }
  for (const auto& [platform, list] : *mirrors) {
    if (!artifacts->contains(platform)) {
      return Report(Error{ErrorCode::usage, "--mirror for " + platform + " has no --artifact"});
    }
  }
  if (auto v = SemVer::Parse(o.version); !v) return Report(v.error().Wrap("--version"));
  if (!o.min_updater_version.empty()) {
    if (auto v = SemVer::Parse(o.min_updater_version); !v) {
      return Report(v.error().Wrap("--min-updater-version"));
    }
  }
  std::map<std::string, std::vector<DeltaSource>> delta_sources;
  for (const auto& text : o.delta_from) {
    auto d = ParseDeltaFrom(text);
    if (!d) return Report(d.error());
    if (d->platform.empty()) {
      if (artifacts->size() != 1) {
        return Report(Error{ErrorCode::usage, "--delta-from " + text +
                                                  ": name its platform (PLATFORM:OLD_BINARY) "
                                                  "when the release has several"});
      }
      d->platform = artifacts->begin()->first;
    }
    if (!artifacts->contains(d->platform)) {
      return Report(
          Error{ErrorCode::usage, "--delta-from for " + d->platform + " has no --artifact"});
    }
    delta_sources[d->platform].push_back(std::move(*d));
  }
  if (!delta_sources.empty()) {
    if (auto made = files::MakeDirs(o.delta_dir); !made) return Report(made.error());
  }
  auto delta_urls = ByPlatform(o.delta_urls, "--delta-url");
  if (!delta_urls) return Report(delta_urls.error());
  for (const auto& [platform, list] : *delta_urls) {
    if (!delta_sources.contains(platform)) {
      return Report(
          Error{ErrorCode::usage, "--delta-url for " + platform + " has no --delta-from"});
    }
  }
  auto ttl = ParseDuration(o.expires);
  if (!ttl) return Report(ttl.error().Wrap("--expires"));
  if (*ttl <= Duration::zero()) return Report(Error{ErrorCode::usage, "--expires must be > 0"});
  const auto now = SystemClock::Instance().Now();

  nlohmann::ordered_json doc;
  doc["schema"] = trust::kReleaseSchema;
  doc["component"] = o.component;
  doc["channel"] = o.channel;
  doc["version"] = o.version;
  doc["sequence"] = o.sequence;
  doc["root_version"] = o.root_version;
  doc["issued_at"] = FormatRfc3339(now);
  doc["expires"] = FormatRfc3339(now + *ttl);
  if (!o.min_updater_version.empty()) doc["min_updater_version"] = o.min_updater_version;
  doc["artifacts"] = nlohmann::ordered_json::object();
  for (const auto& [platform, paths] : *artifacts) {
    auto digests = Sha256FileWithSize(paths.front());
    if (!digests) return Report(digests.error());
    nlohmann::ordered_json a;
    a["url"] = (*urls)[platform].front();
    a["mirrors"] = mirrors->contains(platform) ? (*mirrors)[platform] : std::vector<std::string>{};
    a["size"] = digests->size;
    a["sha256"] = HexEncode(digests->sha256);
    a["format"] = "binary";
    if (delta_sources.contains(platform)) {
      std::vector<std::string> templates = (*delta_urls)[platform];
      if (templates.empty()) {
        const std::string sha = HexEncode(digests->sha256);
        templates.push_back(TemplateBeside((*urls)[platform].front(), sha));
        if (mirrors->contains(platform)) {
          for (const auto& m : (*mirrors)[platform]) templates.push_back(TemplateBeside(m, sha));
        }
      }
      auto deltas = MakeDeltas(o, platform, paths.front(), delta_sources[platform], templates);
      if (!deltas) return Report(deltas.error());
      a["deltas"] = std::move(*deltas);
    }
    doc["artifacts"][platform] = std::move(a);
  }
  std::string text;
  try {
    text = doc.dump(2) + "\n";
  } catch (const nlohmann::json::exception& e) {
    return Report(Error{ErrorCode::usage, std::string("cannot write the manifest: ") + e.what()});
  }
  // Whatever we write must pass the same parser every host runs.
  auto parsed = trust::ParseManifest(text);
  if (!parsed) return Report(parsed.error());
  if (auto ok = files::AtomicWrite(o.out, text, 0644); !ok) return Report(ok.error());
  std::cout << "Wrote " << o.out << " (" << o.component << " " << o.version << " on " << o.channel
            << ", sequence " << o.sequence << ").\n"
            << "Sign it with release keys: stewardctl sign -s LABEL.key --label LABEL " << o.out
            << "\n";
  return exit_code::kOk;
}

int VerifyReleaseCommand(const VerifyReleaseOptions& o) {
  auto root_text = ReadInput(o.root, trust::kMaxRootBytes, ErrorCode::root_malformed);
  if (!root_text) return Report(root_text.error());
  auto root = trust::ParseRoot(*root_text);
  if (!root) return Report(root.error().Wrap(o.root));
  auto text = ReadInput(o.manifest, trust::kMaxManifestBytes, ErrorCode::manifest_too_large);
  if (!text) return Report(text.error());
  std::vector<std::string> paths = o.sigs;
  if (paths.empty()) paths = FindSignatureFiles(o.manifest, root->release.keys);
  std::vector<std::string> sigs;
  for (const auto& p : paths) {
    auto s = ReadInput(p, minisign::kMaxSignatureFile, ErrorCode::sig_malformed);
    if (!s)
      return Report(s.error().code == ErrorCode::too_large
                        ? Error{ErrorCode::sig_malformed, s.error().message}
                        : s.error());
    sigs.push_back(std::move(*s));
  }
  trust::Expect expect;
  if (!o.component.empty()) expect.component = o.component;
  if (!o.channel.empty()) expect.channel = o.channel;
  if (!o.platform.empty()) expect.platform = o.platform;
  if (!o.updater_version.empty()) {
    auto v = SemVer::Parse(o.updater_version);
    if (!v) return Report(v.error().Wrap("--updater-version"));
    expect.updater_version = *v;
  }
  expect.allow_legacy_signatures = o.allow_legacy;
  auto verified = trust::VerifyRelease(*root, *text, sigs, trust::Floor{}, expect,
                                       SystemClock::Instance().Now());
  if (!verified) return Report(verified.error().Wrap(o.manifest));
  const auto& m = verified->manifest;
  std::string signers;
  for (const auto& s : verified->signers) signers += (signers.empty() ? "" : ", ") + s;
  std::cout << o.manifest << ": verified " << m.component << " " << m.version.ToString() << " on "
            << m.channel << ", sequence " << m.sequence << ", root version " << m.root_version
            << ", expires " << FormatRfc3339(m.expires) << "; signed by " << signers << "\n";
  for (const auto& [platform, a] : m.artifacts) {
    std::cout << "  " << platform << ": " << a.size << " bytes, sha256 " << HexEncode(a.sha256)
              << ", " << a.url << "\n";
    for (const auto& d : a.deltas) {
      std::cout << "    delta from sha256 " << HexEncode(d.from_sha256) << ": " << d.size
                << " bytes, sha256 " << HexEncode(d.sha256) << ", " << d.url << "\n";
    }
  }
  return exit_code::kOk;
}

// The manifest and its signatures, as the controller's POST releases takes them.
int Publish(const PublishOptions& o) {
  constexpr std::size_t kMaxFile = 1 << 20;
  auto bytes = files::ReadFile(o.manifest, kMaxFile);
  if (!bytes) return Report(bytes.error());
  std::vector<std::string> sig_files = o.signatures;
  if (sig_files.empty()) {
    for (const auto& f : trust::SignatureFilesBeside(o.manifest)) sig_files.push_back(f.string());
  }
  if (sig_files.empty()) {
    return Report(Error{ErrorCode::usage, "no signatures: pass --signature FILE or put " +
                                              o.manifest + ".minisig next to the manifest"});
  }
  protocol::SignedRelease body{std::move(*bytes), {}};
  for (const auto& f : sig_files) {
    auto s = files::ReadFile(f, kMaxFile);
    if (!s) return Report(s.error());
    body.signatures.push_back(std::move(*s));
  }
  auto r = Call(o.conn, "POST", "/v1/admin/releases", protocol::Encode(body));
  if (!r) return Report(r.error());
  if (o.json_out) {
    std::cout << r->dump(2) << "\n";
  } else if (r->value("published", false)) {
    std::cout << "published " << Cell(*r, "component") << "/" << Cell(*r, "channel") << " "
              << Cell(*r, "version") << " (sequence " << Cell(*r, "sequence") << ")\n";
  } else {
    std::cout << "already published: " << Cell(*r, "component") << "/" << Cell(*r, "channel") << " "
              << Cell(*r, "version") << "\n";
  }
  return exit_code::kOk;
}

int List(const ListOptions& o) {
  std::string q;
  if (!o.component.empty()) q += "component=" + UrlEncode(o.component);
  if (!o.channel.empty())
    q += (q.empty() ? "" : "&") + std::string("channel=") + UrlEncode(o.channel);
  auto r = Call(o.conn, "GET", "/v1/admin/releases" + (q.empty() ? "" : "?" + q));
  if (!r) return Report(r.error());
  if (o.json_out) {
    std::cout << (*r)["releases"].dump(2) << "\n";
    return exit_code::kOk;
  }
  std::vector<std::vector<std::string>> rows{
      {"COMPONENT", "CHANNEL", "VERSION", "SEQUENCE", "PUBLISHED", "EXPIRES"}};
  for (const auto& x : (*r)["releases"]) {
    rows.push_back({Cell(x, "component"), Cell(x, "channel"), Cell(x, "version"),
                    Cell(x, "sequence"), Cell(x, "published_at"), Cell(x, "expires")});
  }
  PrintTable(rows);
  return exit_code::kOk;
}

}  // namespace

void AddReleaseCommands(CLI::App& app, Action& action) {
  auto* release = app.add_subcommand("release", "Create, verify, publish and list releases");
  release->require_subcommand(1);

  auto co = std::make_shared<CreateOptions>();
  auto* create = release->add_subcommand(
      "create", "Write a release manifest, computing each artifact's size and SHA-256");
  create->add_option("--component", co->component, "Component name, e.g. agent")->required();
  create->add_option("--channel", co->channel, "Channel, e.g. stable")->required();
  create->add_option("--version", co->version, "Semantic version of the release")->required();
  create->add_option("--sequence", co->sequence, "Release sequence; must grow for each release")
      ->required()
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1} << 53));
  create
      ->add_option("--root-version", co->root_version,
                   "Version of the root.json whose release keys sign this (default 1)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 53));
  create->add_option("--artifact", co->artifacts, "PLATFORM=PATH of a built artifact (repeatable)")
      ->required();
  create->add_option("--url", co->urls, "PLATFORM=URL the artifact is served from")->required();
  create->add_option("--mirror", co->mirrors, "PLATFORM=URL of a mirror (repeatable)");
  create->add_option("--expires", co->expires, "Lifetime from now, e.g. 30d")->required();
  create->add_option("--min-updater-version", co->min_updater_version,
                     "Oldest updater version that may install this release");
  create->add_option("-o,--output", co->out, "File to write (manifest.json)")->required();
  create->add_option("--delta-from", co->delta_from,
                     "[PLATFORM:]OLD_BINARY[=VERSION]: also make a zstd patch from this earlier "
                     "artifact and list it in the manifest (repeatable)");
  create->add_option("--delta-url", co->delta_urls,
                     "PLATFORM=URL where the patches are served, {sha256} and {file} filled in; "
                     "repeat for mirrors (default: beside the artifact, or by hash where its URL "
                     "names its hash)");
  create->add_option("--delta-dir", co->delta_dir,
                     "Directory the patch files are written to (default: the manifest's)");
  create->add_option("--delta-level", co->delta_level, "zstd level of the patches (default 19)")
      ->check(CLI::Range(1, 19));
  create->callback([&action, co] { action = [co] { return Create(*co); }; });

  auto vo = std::make_shared<VerifyReleaseOptions>();
  auto* verify = release->add_subcommand(
      "verify",
      "Run every client check on a manifest except the host's stored floor, and say "
      "why it fails");
  verify->add_option("--root", vo->root, "Trusted root.json")->required();
  verify->add_option("--component", vo->component, "Expected component");
  verify->add_option("--channel", vo->channel, "Expected channel");
  verify->add_option("--platform", vo->platform, "Platform whose artifact must be present");
  verify->add_option("--updater-version", vo->updater_version,
                     "Check min_updater_version against this updater version");
  verify->add_flag("--allow-legacy", vo->allow_legacy, "Accept legacy 'Ed' signatures");
  verify->add_option("MANIFEST", vo->manifest, "Manifest file")->required();
  verify->add_option("SIG", vo->sigs,
                     "Signature files (default: MANIFEST.<label>.minisig for release keys)");
  verify->callback([&action, vo] { action = [vo] { return VerifyReleaseCommand(*vo); }; });

  auto po = std::make_shared<PublishOptions>();
  auto* publish = release->add_subcommand("publish", "Publish a signed release to the controller");
  publish->add_option("manifest", po->manifest, "The signed manifest file")->required();
  publish->add_option("-s,--signature", po->signatures,
                      "Signature file (repeatable; default: <manifest>.*minisig)");
  publish->add_flag("--json", po->json_out, "Print the answer as JSON");
  AddConnectionOptions(*publish, po->conn);
  publish->callback([&action, po] { action = [po] { return Publish(*po); }; });

  auto lo = std::make_shared<ListOptions>();
  auto* list = release->add_subcommand("list", "List published releases");
  list->add_option("--component", lo->component, "Only this component");
  list->add_option("--channel", lo->channel, "Only this channel");
  list->add_flag("--json", lo->json_out, "Print JSON");
  AddConnectionOptions(*list, lo->conn);
  list->callback([&action, lo] { action = [lo] { return List(*lo); }; });
}

}  // namespace steward::cli
