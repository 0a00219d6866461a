// Published releases (docs/protocol.md `POST /v1/admin/releases`): a release is verified as a
// node would verify it, its artifacts are probed, and then it is written to the Store and kept
// in memory, where check-in answers read it. A release is never changed once published.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/protocol.hpp"
#include "common/trust.hpp"
#include "controller/store.hpp"

namespace steward::controller {

struct PublishedRelease {
  ReleaseRecord record;
  std::string offer_json;  // its entry in check-in answers, encoded once at publish
};

// Whether every artifact a manifest lists can be downloaded, asked before a publish. Behind an
// interface so tests need no HTTP server (controller/artifact_probe.hpp is the real one).
class ArtifactProbe {
 public:
  virtual ~ArtifactProbe() = default;
  // artifact_unreachable or size_mismatch, naming the platform and the URL.
  virtual Result<void> Check(const trust::Manifest& manifest) = 0;
};

using PublishRequest = protocol::SignedRelease;

struct PublishOutcome {
  bool published = false;  // false: this exact release was published before, nothing changed
  ReleaseRecord release;   // when not published: component, channel, version and sequence
  std::vector<std::string> signers;
};

class Releases {
 public:
  Releases(Store& store, Clock& clock, trust::Root root, ArtifactProbe& probe);

  // Loads the published releases: before serving, and again when another controller sharing
  // the store may have published some (those not known yet are added).
  Result<void> Load();

  // Verifies against the root and the newest release of its component and channel (the floor),
  // probes the artifacts, then writes the release. The probe runs outside the lock, so
  // check-ins go on meanwhile; the caller waits for it.
  Result<PublishOutcome> Publish(const PublishRequest& request);

  // Every release, filtered by component and channel when given, oldest first per channel.
  std::vector<ReleaseRecord> List(const std::optional<std::string>& component = std::nullopt,
                                  const std::optional<std::string>& channel = std::nullopt) const;
  // The release, or null.
  std::shared_ptr<const PublishedRelease> Find(const std::string& component,
                                               const std::string& channel,
                                               const std::string& version) const;
  std::size_t size() const;

 private:
  // The newest release of the component and channel, as a node's floor would hold it.
  trust::Floor FloorOf(const std::string& component, const std::string& channel) const;
  Result<void> Insert(const ReleaseRecord& record);
  void AddToCache(ReleaseRecord record);  // mu_ held

  Store& store_;
  Clock& clock_;
  const trust::Root root_;
  ArtifactProbe& probe_;

  mutable std::mutex mu_;
  std::vector<std::shared_ptr<const PublishedRelease>> releases_;
  std::unordered_map<std::string, std::shared_ptr<const PublishedRelease>> by_key_;
};

}  // namespace steward::controller
