#include "controller/releases.hpp"

#include "common/hash.hpp"
#include "common/log.hpp"
#include "common/protocol.hpp"

namespace steward::controller {

namespace {
std::string Key(const std::string& component, const std::string& channel,
                const std::string& version) {
  return component + "/" + channel + "/" + version;
}
}  // namespace

Releases::Releases(Store& store, Clock& clock, trust::Root root, ArtifactProbe& probe)
    : store_(store), clock_(clock), root_(std::move(root)), probe_(probe) {}

Result<void> Releases::Load() {
  auto releases = store_.ListReleases();
  if (!releases) return std::unexpected(releases.error());
  std::lock_guard lock(mu_);
  for (auto& r : *releases) {
    // Releases never change once published: only new ones are added.
    if (!by_key_.contains(Key(r.component, r.channel, r.version))) AddToCache(std::move(r));
  }
  return {};
}

Result<PublishOutcome> Releases::Publish(const PublishRequest& request) {
  auto parsed = trust::ParseManifest(request.manifest);
  if (!parsed) return std::unexpected(parsed.error());
  const auto floor = FloorOf(parsed->component, parsed->channel);
  trust::Expect expect;
  expect.component = parsed->component;
  expect.channel = parsed->channel;
  auto verified = trust::VerifyRelease(root_, request.manifest, request.signatures, floor, expect,
                                       clock_.Now());
  if (!verified) return std::unexpected(verified.error());
  const auto& m = verified->manifest;
  PublishOutcome out;
  out.release.component = m.component;
  out.release.channel = m.channel;
  out.release.version = m.version.ToString();
  out.release.sequence = m.sequence;
  if (floor.manifest_sha256 && *floor.manifest_sha256 == verified->manifest_sha256) return out;
  if (m.artifacts.empty()) return Fail(ErrorCode::bad_request, "the release lists no artifacts");
  if (auto r = probe_.Check(m); !r) return std::unexpected(r.error());

  auto& rec = out.release;
  rec.root_version = m.root_version;
  rec.manifest = request.manifest;
  rec.signatures = request.signatures;
  rec.manifest_sha256 = HexEncode(verified->manifest_sha256);
  rec.published_at = UnixSeconds(clock_.Now());
  rec.expires = UnixSeconds(m.expires);
  if (auto r = Insert(rec); !r) return std::unexpected(r.error());
  log::Get("controller")
      .info("published component={} channel={} version={} sequence={}", rec.component, rec.channel,
            rec.version, rec.sequence);
  out.published = true;
  out.signers = std::move(verified->signers);
  return out;
}

trust::Floor Releases::FloorOf(const std::string& component, const std::string& channel) const {
  trust::Floor floor;
  std::lock_guard lock(mu_);
  for (const auto& p : releases_) {
    const auto& rel = p->record;
    if (rel.component != component || rel.channel != channel) continue;
    if (rel.sequence >= floor.sequence) {
      floor.sequence = rel.sequence;
      floor.root_version = rel.root_version;
      floor.manifest_sha256 = ParseSha256Hex(rel.manifest_sha256);
    }
  }
  return floor;
}

// Checked again under the lock: another publish of the channel may have won while this one
// was probing its artifacts.
Result<void> Releases::Insert(const ReleaseRecord& rec) {
  std::lock_guard lock(mu_);
  for (const auto& p : releases_) {
    const auto& rel = p->record;
    if (rel.component == rec.component && rel.channel == rec.channel &&
        (rel.version == rec.version || rel.sequence >= rec.sequence)) {
      return Fail(ErrorCode::already_exists, "release " + rec.component + "/" + rec.channel + " " +
                                                 rec.version + " conflicts with published " +
                                                 rel.version + " (sequence " +
                                                 std::to_string(rel.sequence) + ")");
    }
  }
  if (auto r = store_.InsertRelease(rec); !r) return r;
  AddToCache(rec);
  return {};
}

void Releases::AddToCache(ReleaseRecord record) {  // mu_ held
  auto p = std::make_shared<PublishedRelease>();
  p->offer_json = protocol::Encode(protocol::ReleaseOffer{
      record.component, record.manifest, record.signatures, record.channel, record.version});
  p->record = std::move(record);
  by_key_[Key(p->record.component, p->record.channel, p->record.version)] = p;
  releases_.push_back(std::move(p));
}

std::vector<ReleaseRecord> Releases::List(const std::optional<std::string>& component,
                                          const std::optional<std::string>& channel) const {
  std::vector<ReleaseRecord> out;
  std::lock_guard lock(mu_);
  for (const auto& p : releases_) {
    if (component && *component != p->record.component) continue;
    if (channel && *channel != p->record.channel) continue;
    out.push_back(p->record);
  }
  return out;
}

std::shared_ptr<const PublishedRelease> Releases::Find(const std::string& component,
                                                       const std::string& channel,
                                                       const std::string& version) const {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(Key(component, channel, version));
  return it == by_key_.end() ? nullptr : it->second;
}

std::size_t Releases::size() const {
  std::lock_guard lock(mu_);
  return releases_.size();
}

}  // namespace steward::controller
