#include "common/trust.hpp"

#include <algorithm>
#include <set>

#include "common/files.hpp"
#include "common/json_strict.hpp"
#include "common/platform.hpp"
#include "common/rfc3339.hpp"

namespace steward::trust {

namespace {

// Typed access to the members of one JSON object, failing with `code` and a message naming
// the document and the field.
class Fields {
 public:
  Fields(const json::Value& value, ErrorCode code, std::string what)
      : obj_(value.AsObject()), code_(code), what_(std::move(what)) {}

  Result<void> IsObject() const {
    if (obj_ == nullptr) return Fail(code_, what_ + " must be a JSON object");
    return {};
  }

  // Unknown members are errors: signed documents carry nothing we do not check.
  Result<void> Only(std::initializer_list<std::string_view> allowed) const {
    for (const auto& [key, v] : *obj_) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        return Fail(code_, what_ + " has an unknown field \"" + key.substr(0, 64) + "\"");
      }
    }
    return {};
  }

  const json::Value* Get(std::string_view key) const {
    for (const auto& [k, v] : *obj_) {
      if (k == key) return &v;
    }
    return nullptr;
  }

  Result<const json::Value*> Require(std::string_view key) const {
    const auto* v = Get(key);
    if (v == nullptr) return Fail(code_, what_ + " lacks the field \"" + std::string(key) + "\"");
    return v;
  }

  Result<std::string> String(std::string_view key) const {
    auto v = Require(key);
    if (!v) return std::unexpected(v.error());
    return StringOf(**v, key);
  }

  Result<std::string> StringOf(const json::Value& v, std::string_view key) const {
    const auto* s = v.AsString();
    if (s == nullptr) return WrongType(key, "a string", v);
    return *s;
  }

  Result<std::uint64_t> Number(std::string_view key) const {
    auto v = Require(key);
    if (!v) return std::unexpected(v.error());
    const auto* n = (*v)->AsNumber();
    if (n == nullptr) return WrongType(key, "a whole number", **v);
    return *n;
  }

  Result<WallTime> Time(std::string_view key) const {
    auto s = String(key);
    if (!s) return std::unexpected(s.error());
    auto t = ParseRfc3339(*s);
    if (!t) return Fail(code_, what_ + " field \"" + std::string(key) + "\": " + t.error().message);
    return *t;
  }

  Result<const json::Object*> ObjectField(std::string_view key) const {
    auto v = Require(key);
    if (!v) return std::unexpected(v.error());
    const auto* o = (*v)->AsObject();
    if (o == nullptr) return WrongType(key, "an object", **v);
    return o;
  }

  Result<const json::Array*> ArrayField(std::string_view key) const {
    auto v = Require(key);
    if (!v) return std::unexpected(v.error());
    const auto* a = (*v)->AsArray();
    if (a == nullptr) return WrongType(key, "an array", **v);
    return a;
  }

  std::unexpected<Error> Bad(const std::string& message) const {
    return std::unexpected(Error{code_, what_ + ": " + message});
  }

 private:
  std::unexpected<Error> WrongType(std::string_view key, std::string_view want,
                                   const json::Value& got) const {
    return std::unexpected(Error{code_, what_ + " field \"" + std::string(key) + "\" must be " +
                                            std::string(want) + ", not " +
                                            std::string(json::TypeName(got))});
  }

  const json::Object* obj_;
  ErrorCode code_;
  std::string what_;
};

#define STEWARD_TRY(var, expr)                           \
  auto var##_r = (expr);                                 \
  if (!var##_r) return std::unexpected(var##_r.error()); \
  auto var = std::move(*var##_r)

#define STEWARD_CHECK(expr)                                  \
  do {                                                       \
    auto check_r_ = (expr);                                  \
    if (!check_r_) return std::unexpected(check_r_.error()); \
  } while (0)

Result<Role> ParseRole(const json::Value& value, std::string_view name, const Root& root) {
  const std::string what = "root.json role \"" + std::string(name) + "\"";
  Fields f(value, ErrorCode::root_malformed, what);
  STEWARD_CHECK(f.IsObject());
  STEWARD_CHECK(f.Only({"keys", "threshold"}));
  STEWARD_TRY(keys, f.ArrayField("keys"));
  STEWARD_TRY(threshold, f.Number("threshold"));
  Role role;
  std::set<std::string> seen;
  for (const auto& item : *keys) {
    STEWARD_TRY(label, f.StringOf(item, "keys"));
    if (!root.keys.contains(label)) {
      return Fail(ErrorCode::root_invalid, what + " names key \"" + label.substr(0, 64) +
                                               "\", which \"keys\" does not list");
    }
    if (!seen.insert(label).second) {
      return Fail(ErrorCode::root_invalid, what + " lists key \"" + label + "\" twice");
    }
    role.keys.push_back(label);
  }
  if (role.keys.empty()) return Fail(ErrorCode::root_invalid, what + " has no keys");
  if (threshold < 1 || threshold > role.keys.size()) {
    return Fail(ErrorCode::root_invalid, what + " threshold " + std::to_string(threshold) +
                                             " is outside 1.." + std::to_string(role.keys.size()) +
                                             " (the number of its keys)");
  }
  role.threshold = static_cast<std::uint32_t>(threshold);
  return role;
}

bool IsUrl(std::string_view url) {
  if (url.size() > 2048) return false;
  if (!url.starts_with("https://") && !url.starts_with("http://")) return false;
  return std::none_of(url.begin(), url.end(), [](char c) {
    return static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f;
  });
}

// The url and mirrors of an artifact or a patch.
Result<void> ParseUrls(const Fields& f, std::string& url_out,
                       std::vector<std::string>& mirrors_out) {
  STEWARD_TRY(url, f.String("url"));
  if (!IsUrl(url)) return f.Bad("url must be an http(s) URL without spaces: " + url.substr(0, 80));
  url_out = std::move(url);
  if (f.Get("mirrors") != nullptr) {
    STEWARD_TRY(mirrors, f.ArrayField("mirrors"));
    if (mirrors->size() > kMaxMirrors) return f.Bad("more than 16 mirrors");
    for (const auto& m : *mirrors) {
      STEWARD_TRY(murl, f.StringOf(m, "mirrors"));
      if (!IsUrl(murl)) return f.Bad("mirror must be an http(s) URL: " + murl.substr(0, 80));
      mirrors_out.push_back(std::move(murl));
    }
  }
  return {};
}

Result<Sha256Digest> Sha256Field(const Fields& f, std::string_view key) {
  STEWARD_TRY(sha, f.String(key));
  auto digest = ParseSha256Hex(sha);
  if (!digest) return f.Bad(std::string(key) + " must be 64 lower-case hex digits");
  return *digest;
}

// The size, sha256 and format of an artifact or a patch; the format must be `want`.
Result<void> ParseContent(const Fields& f, std::string_view want, std::uint64_t& size,
                          Sha256Digest& sha256, std::string& format) {
  STEWARD_TRY(n, f.Number("size"));
  size = n;
  STEWARD_TRY(sha, Sha256Field(f, "sha256"));
  sha256 = sha;
  STEWARD_TRY(fmt, f.String("format"));
  if (fmt != want) {
    return f.Bad("format \"" + fmt.substr(0, 32) + "\" is unknown (" + std::string(want) + ")");
  }
  format = std::move(fmt);
  return {};
}

Result<Delta> ParseDelta(const json::Value& value, const std::string& platform, std::size_t i) {
  const std::string what = "manifest artifact \"" + platform + "\" delta " + std::to_string(i + 1);
  Fields f(value, ErrorCode::manifest_malformed, what);
  STEWARD_CHECK(f.IsObject());
  STEWARD_CHECK(f.Only({"from_sha256", "url", "mirrors", "size", "sha256", "format"}));
  Delta d;
  STEWARD_TRY(from, Sha256Field(f, "from_sha256"));
  d.from_sha256 = from;
  STEWARD_CHECK(ParseUrls(f, d.url, d.mirrors));
  STEWARD_CHECK(ParseContent(f, "zstd-patch", d.size, d.sha256, d.format));
  if (d.size == 0) return f.Bad("size must be at least 1");
  return d;
}

Result<Artifact> ParseArtifact(const json::Value& value, const std::string& platform) {
  const std::string what = "manifest artifact \"" + platform + "\"";
  Fields f(value, ErrorCode::manifest_malformed, what);
  STEWARD_CHECK(f.IsObject());
  STEWARD_CHECK(f.Only({"url", "mirrors", "size", "sha256", "format", "deltas"}));
  Artifact a;
  STEWARD_CHECK(ParseUrls(f, a.url, a.mirrors));
  STEWARD_CHECK(ParseContent(f, "binary", a.size, a.sha256, a.format));
  if (f.Get("deltas") != nullptr) {
    STEWARD_TRY(deltas, f.ArrayField("deltas"));
    if (deltas->size() > kMaxDeltas) return f.Bad("more than 16 deltas");
    for (std::size_t i = 0; i < deltas->size(); ++i) {
      STEWARD_TRY(d, ParseDelta((*deltas)[i], platform, i));
      if (d.from_sha256 == a.sha256) {
        return f.Bad("delta " + std::to_string(i + 1) + " patches the artifact into itself");
      }
      for (const auto& earlier : a.deltas) {
        if (earlier.from_sha256 == d.from_sha256) {
          return f.Bad("two deltas from_sha256 " + HexEncode(d.from_sha256));
        }
      }
      a.deltas.push_back(std::move(d));
    }
  }
  return a;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "none" : out;
}

}  // namespace

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '-' && c != '_'))) return false;
  }
  return true;
}

bool IsValidLabel(std::string_view label) {
  if (label.empty() || label.size() > 64) return false;
  for (std::size_t i = 0; i < label.size(); ++i) {
    const char c = label[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '-' && c != '_' && c != '.'))) return false;
  }
  return true;
}

Result<Root> ParseRoot(std::string_view bytes) {
  STEWARD_TRY(doc, json::Parse(bytes, ErrorCode::root_malformed, {kMaxRootBytes, 16}));
  Fields f(doc, ErrorCode::root_malformed, "root.json");
  STEWARD_CHECK(f.IsObject());
  STEWARD_CHECK(f.Only({"schema", "version", "expires", "keys", "roles"}));
  STEWARD_TRY(schema, f.String("schema"));
  if (schema != kRootSchema) {
    return f.Bad("schema \"" + schema.substr(0, 64) + "\" is not " + std::string(kRootSchema));
  }
  Root root;
  STEWARD_TRY(version, f.Number("version"));
  if (version < 1) return f.Bad("version must be at least 1");
  root.version = version;
  STEWARD_TRY(expires, f.Time("expires"));
  root.expires = expires;
  STEWARD_TRY(keys, f.ObjectField("keys"));
  std::set<minisign::PublicKeyBytes> distinct;
  for (const auto& [label, value] : *keys) {
    if (!IsValidLabel(label)) {
      return f.Bad("key label \"" + label.substr(0, 64) +
                   "\" is not valid ([A-Za-z0-9][A-Za-z0-9_.-]*, at most 64)");
    }
    STEWARD_TRY(text, f.StringOf(value, "keys." + label));
    auto key = minisign::ParsePublicKeyBase64(text);
    if (!key) return f.Bad("key \"" + label + "\": " + key.error().message);
    if (!distinct.insert(key->bytes).second) {
      return Fail(ErrorCode::root_invalid,
                  "root.json lists the same public key twice (again as \"" + label + "\")");
    }
    root.keys.emplace(label, *key);
  }
  STEWARD_TRY(roles, f.ObjectField("roles"));
  json::Value roles_value{*roles};
  Fields rf(roles_value, ErrorCode::root_malformed, "root.json roles");
  STEWARD_CHECK(rf.Only({"root", "release"}));
  STEWARD_TRY(root_role, rf.Require("root"));
  STEWARD_TRY(release_role, rf.Require("release"));
  STEWARD_TRY(parsed_root, ParseRole(*root_role, "root", root));
  STEWARD_TRY(parsed_release, ParseRole(*release_role, "release", root));
  root.root = std::move(parsed_root);
  root.release = std::move(parsed_release);
  return root;
}

Result<std::vector<std::string>> CheckSignatures(const Root& root, const Role& role,
                                                 std::string_view role_name, std::string_view bytes,
                                                 std::span<const std::string> signature_texts,
                                                 bool allow_legacy) {
  if (signature_texts.size() > kMaxSignatures) {
    return Fail(ErrorCode::sig_malformed, std::to_string(signature_texts.size()) +
                                              " signatures given; at most " +
                                              std::to_string(kMaxSignatures) + " are read");
  }
  std::set<minisign::PublicKeyBytes> counted;
  std::vector<std::string> signers;
  std::vector<std::string> ignored;
  const minisign::VerifyOptions options{allow_legacy};
  for (std::size_t i = 0; i < signature_texts.size(); ++i) {
    const std::string which = "signature " + std::to_string(i + 1);
    auto sig = minisign::ParseSignatureFile(signature_texts[i]);
    if (!sig) return std::unexpected(sig.error().Wrap(which));
    if (sig->algorithm == minisign::Algorithm::kLegacy && !allow_legacy) {
      return Fail(ErrorCode::sig_algorithm,
                  which + " uses the legacy algorithm 'Ed'; only prehashed 'ED' is accepted");
    }
    std::optional<Error> failure;
    bool matched = false;
    for (const auto& label : role.keys) {
      const auto& key = root.keys.at(label);
      if (key.key_id != sig->key_id) continue;
      matched = true;
      auto ok = minisign::VerifyBytes(key, *sig, bytes, options);
      if (ok) {
        failure.reset();
        if (counted.insert(key.bytes).second) signers.push_back(label);
        break;
      }
      failure = ok.error().Wrap(which + " (key \"" + label + "\")");
    }
    if (!matched) ignored.push_back(minisign::KeyIdHex(sig->key_id));
    if (failure) return std::unexpected(*failure);
  }
  if (counted.size() < role.threshold) {
    return Fail(ErrorCode::threshold_not_met,
                std::to_string(counted.size()) + " of the " + std::to_string(role.threshold) +
                    " distinct " + std::string(role_name) +
                    " key signatures needed verified (signed by: " + Join(signers) +
                    "; ignored signatures from key ids not in the role: " + Join(ignored) + ")");
  }
  return signers;
}

Result<Root> VerifyInitialRoot(std::string_view bytes,
                               std::span<const std::string> signature_texts) {
  STEWARD_TRY(root, ParseRoot(bytes));
  auto ok = CheckSignatures(root, root.root, "root", bytes, signature_texts);
  if (!ok)
    return std::unexpected(ok.error().Wrap("root.json version " + std::to_string(root.version)));
  return root;
}

Result<Root> LoadRootFile(const std::filesystem::path& path) {
  auto text = files::ReadFile(path, kMaxRootBytes);
  if (!text) {
    if (text.error().code == ErrorCode::too_large) {
      return Fail(ErrorCode::root_malformed, text.error().message);
    }
    return std::unexpected(text.error().Wrap("reading root " + path.string()));
  }
  auto shape = ParseRoot(*text);
  if (!shape) return std::unexpected(shape.error().Wrap(path.string()));
  std::vector<std::string> sigs;
  for (const auto& label : shape->root.keys) {
    const auto sig_path = path.string() + "." + label + ".minisig";
    std::error_code ec;
    if (!std::filesystem::exists(sig_path, ec)) continue;
    auto sig = files::ReadFile(sig_path, minisign::kMaxSignatureFile);
    if (!sig) {
      return Fail(ErrorCode::sig_malformed, "reading " + sig_path + ": " + sig.error().message);
    }
    sigs.push_back(std::move(*sig));
  }
  auto root = VerifyInitialRoot(*text, sigs);
  if (!root) return std::unexpected(root.error().Wrap(path.string()));
  return root;
}

Result<Root> VerifyRootRotation(const Root& trusted, std::string_view new_bytes,
                                std::span<const std::string> signature_texts) {
  STEWARD_TRY(next, ParseRoot(new_bytes));
  if (next.version != trusted.version + 1) {
    return Fail(ErrorCode::root_rotation,
                "root.json version " + std::to_string(next.version) + " cannot follow version " +
                    std::to_string(trusted.version) + ": roots rotate one version at a time");
  }
  const std::string ctx = "root.json version " + std::to_string(next.version);
  auto old_ok = CheckSignatures(trusted, trusted.root, "old root", new_bytes, signature_texts);
  if (!old_ok)
    return std::unexpected(
        old_ok.error().Wrap(ctx + " (signed by version " + std::to_string(trusted.version) + ")"));
  auto new_ok = CheckSignatures(next, next.root, "new root", new_bytes, signature_texts);
  if (!new_ok) return std::unexpected(new_ok.error().Wrap(ctx + " (signed by its own keys)"));
  return next;
}

Result<Manifest> ParseManifest(std::string_view bytes) {
  if (bytes.size() > kMaxManifestBytes) {
    return Fail(ErrorCode::manifest_too_large, "manifest is " + std::to_string(bytes.size()) +
                                                   " bytes, over the limit of " +
                                                   std::to_string(kMaxManifestBytes));
  }
  STEWARD_TRY(doc, json::Parse(bytes, ErrorCode::manifest_malformed, {kMaxManifestBytes, 16}));
  Fields f(doc, ErrorCode::manifest_malformed, "manifest");
  STEWARD_CHECK(f.IsObject());
  STEWARD_TRY(schema, f.String("schema"));
  if (schema != kReleaseSchema) {
    return Fail(ErrorCode::schema_mismatch, "manifest schema \"" + schema.substr(0, 64) +
                                                "\" is not " + std::string(kReleaseSchema));
  }
  STEWARD_CHECK(f.Only({"schema", "component", "channel", "version", "sequence", "root_version",
                        "issued_at", "expires", "min_updater_version", "artifacts"}));
  Manifest m;
  STEWARD_TRY(component, f.String("component"));
  if (!IsValidName(component))
    return f.Bad("component name \"" + component.substr(0, 64) + "\" is not valid");
  m.component = std::move(component);
  STEWARD_TRY(channel, f.String("channel"));
  if (!IsValidName(channel))
    return f.Bad("channel name \"" + channel.substr(0, 64) + "\" is not valid");
  m.channel = std::move(channel);
  STEWARD_TRY(version, f.String("version"));
  auto sv = SemVer::Parse(version);
  if (!sv) return f.Bad(sv.error().message);
  m.version = std::move(*sv);
  STEWARD_TRY(sequence, f.Number("sequence"));
  m.sequence = sequence;
  STEWARD_TRY(root_version, f.Number("root_version"));
  if (root_version < 1) return f.Bad("root_version must be at least 1");
  m.root_version = root_version;
  STEWARD_TRY(issued_at, f.Time("issued_at"));
  STEWARD_TRY(expires, f.Time("expires"));
  if (expires <= issued_at) return f.Bad("expires must be later than issued_at");
  m.issued_at = issued_at;
  m.expires = expires;
  if (f.Get("min_updater_version") != nullptr) {
    STEWARD_TRY(minv, f.String("min_updater_version"));
    auto parsed = SemVer::Parse(minv);
    if (!parsed) return f.Bad("min_updater_version: " + parsed.error().message);
    m.min_updater_version = std::move(*parsed);
  }
  STEWARD_TRY(artifacts, f.ObjectField("artifacts"));
  if (artifacts->empty()) return f.Bad("artifacts is empty");
  for (const auto& [platform, value] : *artifacts) {
    if (!IsValidPlatformName(platform)) {
      return f.Bad("platform name \"" + platform.substr(0, 64) +
                   "\" is not valid (like linux-x86_64)");
    }
    STEWARD_TRY(artifact, ParseArtifact(value, platform));
    m.artifacts.emplace(platform, std::move(artifact));
  }
  return m;
}

std::optional<SemVer> SignedVersion(const Root& root, std::string_view manifest_bytes,
                                    std::span<const std::string> signature_texts,
                                    bool allow_legacy_signatures) {
  if (manifest_bytes.size() > kMaxManifestBytes) return std::nullopt;
  if (!CheckSignatures(root, root.release, "release", manifest_bytes, signature_texts,
                       allow_legacy_signatures)) {
    return std::nullopt;
  }
  auto manifest = ParseManifest(manifest_bytes);
  return manifest ? std::optional<SemVer>(manifest->version) : std::nullopt;
}

Result<VerifiedRelease> VerifyRelease(const Root& root, std::string_view manifest_bytes,
                                      std::span<const std::string> signature_texts,
                                      const Floor& floor, const Expect& expect, WallTime now) {
  // 1. size caps
  if (manifest_bytes.size() > kMaxManifestBytes) {
    return Fail(ErrorCode::manifest_too_large,
                "manifest is " + std::to_string(manifest_bytes.size()) +
                    " bytes, over the limit of " + std::to_string(kMaxManifestBytes));
  }
  // 2-3. signatures and threshold, before a byte of the manifest is interpreted
  STEWARD_TRY(signers, CheckSignatures(root, root.release, "release", manifest_bytes,
                                       signature_texts, expect.allow_legacy_signatures));
  // 4. schema, component, channel, root version
  STEWARD_TRY(manifest, ParseManifest(manifest_bytes));
  if (expect.component && manifest.component != *expect.component) {
    return Fail(ErrorCode::component_mismatch, "manifest is for component \"" + manifest.component +
                                                   "\", not \"" + *expect.component + "\"");
  }
  if (expect.channel && manifest.channel != *expect.channel) {
    return Fail(ErrorCode::channel_mismatch, "manifest is for channel \"" + manifest.channel +
                                                 "\", not \"" + *expect.channel + "\"");
  }
  if (manifest.root_version > root.version) {
    return Fail(ErrorCode::root_version_mismatch,
                "manifest was made under root version " + std::to_string(manifest.root_version) +
                    " but this host trusts root version " + std::to_string(root.version) +
                    "; fetch the newer root first");
  }
  // 5. floor
  const Sha256Digest digest = Sha256Of(manifest_bytes);
  const auto mine = std::pair(manifest.root_version, manifest.sequence);
  const auto stored = std::pair(floor.root_version, floor.sequence);
  if (mine < stored) {
    return Fail(ErrorCode::sequence_rollback,
                "manifest (root_version " + std::to_string(mine.first) + ", sequence " +
                    std::to_string(mine.second) + ") is older than the accepted (root_version " +
                    std::to_string(stored.first) + ", sequence " + std::to_string(stored.second) +
                    "): replayed or rolled back");
  }
  if (mine == stored && floor.manifest_sha256 && *floor.manifest_sha256 != digest) {
    return Fail(ErrorCode::sequence_conflict,
                "manifest reuses sequence " + std::to_string(mine.second) +
                    " with different bytes than the manifest accepted at that sequence");
  }
  // 6. expiry
  const WallTime effective_now = std::max(now, floor.time_floor);
  if (effective_now >= manifest.expires) {
    return Fail(ErrorCode::expired, "manifest expired at " + FormatRfc3339(manifest.expires) +
                                        " (now " + FormatRfc3339(effective_now) + ")");
  }
  if (effective_now >= root.expires) {
    return Fail(ErrorCode::expired, "root.json version " + std::to_string(root.version) +
                                        " expired at " + FormatRfc3339(root.expires) +
                                        "; a newer root is needed");
  }
  VerifiedRelease out;
  // 7. platform entry
  if (expect.platform) {
    auto it = manifest.artifacts.find(*expect.platform);
    if (it == manifest.artifacts.end()) {
      std::vector<std::string> have;
      for (const auto& [p, a] : manifest.artifacts) have.push_back(p);
      return Fail(ErrorCode::platform_missing, "manifest has no artifact for platform \"" +
                                                   *expect.platform + "\" (has: " + Join(have) +
                                                   ")");
    }
    out.platform = *expect.platform;
    out.artifact = it->second;
  }
  // 8. updater version
  if (expect.updater_version && manifest.min_updater_version &&
      *expect.updater_version < *manifest.min_updater_version) {
    return Fail(ErrorCode::updater_too_old,
                "release needs updater " + manifest.min_updater_version->ToString() +
                    " or newer; this updater is " + expect.updater_version->ToString());
  }
  out.manifest = std::move(manifest);
  out.manifest_sha256 = digest;
  out.signers = std::move(signers);
  return out;
}

std::vector<std::filesystem::path> SignatureFilesBeside(const std::filesystem::path& file) {
  namespace fs = std::filesystem;
  std::vector<fs::path> out;
  const auto dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  const std::string base = file.filename().string() + ".";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const auto name = e.path().filename().string();
    if (name.starts_with(base) && name.ends_with(".minisig")) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace steward::trust
