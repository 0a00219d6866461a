// Trust in releases (TUF-lite over minisign, ARCHITECTURE §2): root.json names offline keys and
// thresholds for two roles; release manifests are signed by a threshold of release keys. Both
// are parsed strictly from the exact signed bytes. VerifyRelease is the one client-side check,
// in the documented order, with one error code per failure (docs/security.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/hash.hpp"
#include "common/minisign.hpp"
#include "common/semver.hpp"

namespace steward::trust {

inline constexpr std::string_view kRootSchema = "steward.root/1";
inline constexpr std::string_view kReleaseSchema = "steward.release/1";
inline constexpr std::size_t kMaxRootBytes = 256 * 1024;
inline constexpr std::size_t kMaxManifestBytes = 256 * 1024;
inline constexpr std::size_t kMaxSignatures = 32;

struct Role {
  std::vector<std::string> keys;  // labels into Root::keys
  std::uint32_t threshold = 0;
};

struct Root {
  std::uint64_t version = 0;
  WallTime expires;
  std::map<std::string, minisign::PublicKey> keys;  // label -> key
  Role root;
  Role release;
};

// Strict parse and structure checks only (no signatures): root_malformed for bad JSON, types or
// fields; root_invalid for unknown labels, duplicate keys, or a threshold < 1 or > key count.
Result<Root> ParseRoot(std::string_view bytes);

// Verifies `bytes` against `role` of `root`: every signature text must parse (sig_malformed,
// sig_algorithm); one from a role key's id that does not verify is sig_invalid or
// sig_comment_invalid; signatures from other keys are ignored; distinct public keys that
// verified must reach the threshold (threshold_not_met). Returns the labels that signed.
Result<std::vector<std::string>> CheckSignatures(const Root& root, const Role& role,
                                                 std::string_view role_name, std::string_view bytes,
                                                 std::span<const std::string> signature_texts,
                                                 bool allow_legacy = false);

// The root a host starts from (shipped in the package): signed by a threshold of its own root
// keys. Expiry is not checked here (see RootExpired).
Result<Root> VerifyInitialRoot(std::string_view bytes,
                               std::span<const std::string> signature_texts);

// Rotation N -> N+1: the new version must be exactly trusted.version + 1 (root_rotation) and be
// signed by a threshold of the trusted root's root keys and of its own root keys.
Result<Root> VerifyRootRotation(const Root& trusted, std::string_view new_bytes,
                                std::span<const std::string> signature_texts);

// Reads root.json from `path` and the signature files beside it (`<path>.<label>.minisig`, one
// per root key that signed), and verifies it as VerifyInitialRoot does. The way a host loads
// its shipped root.
Result<Root> LoadRootFile(const std::filesystem::path& path);

// Signature files that belong to `file`: `<file>.minisig` (minisign's own name) and
// `<file>.<label>.minisig` (one per signer), sorted by name.
std::vector<std::filesystem::path> SignatureFilesBeside(const std::filesystem::path& file);

// A patch that turns an earlier artifact (the one whose SHA-256 is `from_sha256`) into this
// one. Its own size and SHA-256 guard the download; the artifact's SHA-256 still decides what
// is installed.
struct Delta {
  Sha256Digest from_sha256{};
  std::string url;
  std::vector<std::string> mirrors;
  std::uint64_t size = 0;
  Sha256Digest sha256{};
  std::string format;  // "zstd-patch"
};

inline constexpr std::size_t kMaxDeltas = 16;
inline constexpr std::size_t kMaxMirrors = 16;

struct Artifact {
  std::string url;
  std::vector<std::string> mirrors;
  std::uint64_t size = 0;
  Sha256Digest sha256{};
  std::string format;         // "binary"
  std::vector<Delta> deltas;  // optional; at most kMaxDeltas, distinct from_sha256
};

struct Manifest {
  std::string component;
  std::string channel;
  SemVer version;
  std::uint64_t sequence = 0;
  std::uint64_t root_version = 0;
  WallTime issued_at;
  WallTime expires;
  std::optional<SemVer> min_updater_version;
  std::map<std::string, Artifact> artifacts;  // platform -> artifact
};

// Strict parse of manifest bytes (no signatures): manifest_too_large, manifest_malformed,
// schema_mismatch.
Result<Manifest> ParseManifest(std::string_view bytes);

// What a host has accepted before, per component and channel.
struct Floor {
  std::uint64_t root_version = 0;
  std::uint64_t sequence = 0;
  // SHA-256 of the manifest accepted at (root_version, sequence); empty when unknown.
  std::optional<Sha256Digest> manifest_sha256;
  WallTime time_floor{};  // the latest trusted time seen (e.g. a previous manifest's issued_at)
};

// What the host expects. nullopt skips a check (only `stewardctl release verify` does that).
struct Expect {
  std::optional<std::string> component;
  std::optional<std::string> channel;
  std::optional<std::string> platform;
  std::optional<SemVer> updater_version;
  bool allow_legacy_signatures = false;
};

struct VerifiedRelease {
  Manifest manifest;
  std::optional<std::string> platform;  // the platform checked
  std::optional<Artifact> artifact;     // its entry
  Sha256Digest manifest_sha256{};
  std::vector<std::string> signers;  // release key labels that signed
};

// The client check, in this order (first failure wins, nothing else is looked at):
//  1. size caps: manifest (manifest_too_large), signature count (sig_malformed)
//  2. signatures parse and verify (sig_malformed, sig_algorithm, sig_invalid, sig_comment_invalid)
//  3. threshold of distinct release keys (threshold_not_met)
//  4. strict parse (manifest_malformed), schema (schema_mismatch), component
//     (component_mismatch), channel (channel_mismatch), root_version <= root's
//     (root_version_mismatch)
//  5. (root_version, sequence) >= floor (sequence_rollback); equal only with identical bytes
//     (sequence_conflict)
//  6. not expired at max(now, floor.time_floor): manifest, then root (expired)
//  7. platform entry present (platform_missing)
//  8. min_updater_version <= updater_version (updater_too_old)
Result<VerifiedRelease> VerifyRelease(const Root& root, std::string_view manifest_bytes,
                                      std::span<const std::string> signature_texts,
                                      const Floor& floor, const Expect& expect, WallTime now);

// The version a release manifest names, when its signatures meet the release threshold of
// `root` and it parses; nullopt otherwise. For reports of a release refused later in the order
// (below the floor, expired, …): an unsigned claim is never repeated.
std::optional<SemVer> SignedVersion(const Root& root, std::string_view manifest_bytes,
                                    std::span<const std::string> signature_texts,
                                    bool allow_legacy_signatures);

// Component and channel names: [a-z0-9][a-z0-9_-]{0,63}.
bool IsValidName(std::string_view name);
// Key labels (also part of signature file names): [A-Za-z0-9][A-Za-z0-9_.-]{0,63}.
bool IsValidLabel(std::string_view label);

}  // namespace steward::trust
