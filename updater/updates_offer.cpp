// An offer to the update executor: a release verified in the documented order (trust.hpp),
// checked against the trust floor, holds, pins and bad marks, then recorded as a transaction
// in one durable step with the raised floor. Also superseding: a newer release for a node its
// operator stopped with an unverified update replaces that update once it is installed.
#include <nlohmann/json.hpp>

#include "common/maintenance_window.hpp"
#include "common/platform.hpp"
#include "common/rfc3339.hpp"
#include "common/version.hpp"
#include "updater/updates.hpp"
#include "updater/updates_txn.hpp"

namespace steward::updater {

using update_detail::Injected;
using update_detail::Log;

Result<std::string> Updates::Offer(const OfferedRelease& release,
                                   const protocol::UpdateWindows* windows) {
  const ComponentConfig* c = Component(release.component);
  if (c == nullptr) {
    return Fail(ErrorCode::unknown_component, "a release for component '" + release.component +
                                                  "', which is not configured here");
  }
  if (!c->Managed()) {
    return Fail(ErrorCode::unsupported, "component '" + c->name +
                                            "' runs a fixed program (exec = " + c->exec +
                                            ") and is never updated");
  }
  if (auto answer = InTheWay(*c)) return std::move(*answer);
  auto checked = Check(*c, release);
  if (!checked) return std::unexpected(checked.error());
  if (auto* answer = std::get_if<std::string>(&*checked)) return std::move(*answer);
  const auto& accepted = std::get<Accepted>(*checked);
  auto wait = OutsideWindow(*c, accepted, windows);
  if (!wait) return Refuse(*c, wait.error(), accepted.version);
  if (*wait) return std::move(**wait);
  if (Txn* open = Active(c->name)) return FetchToSupersede(*c, release, accepted, *open);
  return Begin(*c, release, accepted, nullptr);
}

std::optional<std::string> Updates::InTheWay(const ComponentConfig& c) {
  if (auto s = superseding_.find(c.name); s != superseding_.end()) {
    return "fetching " + s->second.version + " to supersede an unverified update";
  }
  if (const Txn* open = Active(c.name); open != nullptr && !Supersedable(*open)) {
    return "an update is in progress";
  }
  if (c.hold) return "held by configuration (hold = true)";
  return std::nullopt;
}

Result<std::optional<std::string>> Updates::OutsideWindow(const ComponentConfig& c,
                                                          const Accepted& a,
                                                          const protocol::UpdateWindows* windows) {
  const std::string key = "window_wait/" + c.name;
  const auto begin_now = [&]() -> Result<std::optional<std::string>> {
    waiting_.erase(c.name);
    auto kept = deps_.db.GetSetting(key);
    if (!kept) return std::unexpected(kept.error());
    if (kept->value_or("").empty()) return std::nullopt;
    if (auto r = deps_.db.SetSetting(key, ""); !r) return std::unexpected(r.error());
    return std::nullopt;
  };
  if (windows == nullptr) return begin_now();
  // Nothing runs that an update would interrupt (a first install, a node its operator
  // stopped), or what runs is a version marked bad here: no reason to wait.
  const auto running = Layout(c.name).PointedVersion(Pointer::current);
  if (running.empty() || deps_.sup.Desired(c.name) != DesiredState::running) return begin_now();
  auto bad = journal_.BadReason(c.name, running);
  if (!bad) return std::unexpected(bad.error());
  if (*bad) return begin_now();

  auto schedule = WindowSchedule::Make(windows->windows);
  if (!schedule) {
    return std::unexpected(schedule.error().Wrap(
        "the controller's maintenance windows for " + c.name +
        " (fix them with `stewardctl windows set`, or install the zone data the node lacks)"));
  }
  const auto now = std::chrono::floor<std::chrono::seconds>(deps_.clock.Now());
  const auto at = schedule->Check(now);
  if (at.open) return begin_now();

  // Held back since when: the first time this version waited, kept across restarts.
  auto kept = deps_.db.GetSetting(key);
  if (!kept) return std::unexpected(kept.error());
  std::int64_t since = now.time_since_epoch().count();
  const std::string prefix = a.version + " ";
  if (kept->has_value() && (*kept)->starts_with(prefix)) {
    since = std::strtoll((*kept)->c_str() + prefix.size(), nullptr, 10);
  } else if (auto r = deps_.db.SetSetting(key, prefix + std::to_string(since)); !r) {
    return std::unexpected(r.error());
  }
  if (windows->max_wait_s && now.time_since_epoch().count() - since >= *windows->max_wait_s) {
    Log().info("component={} update to {} waited {}s for a maintenance window: begins now", c.name,
               a.version, *windows->max_wait_s);
    return begin_now();
  }
  std::string why = a.version + " waits for a maintenance window";
  if (at.next_open) why += " (the next opens " + FormatRfc3339(*at.next_open) + ")";
  if (windows->max_wait_s) {
    why +=
        ", at the latest until " +
        FormatRfc3339(std::chrono::sys_seconds{std::chrono::seconds{since + *windows->max_wait_s}});
  }
  if (waiting_[c.name] != why) Log().info("component={} {}", c.name, why);
  waiting_[c.name] = why;
  return why;
}

std::string Updates::Waiting(std::string_view name) const {
  auto it = waiting_.find(name);
  return it == waiting_.end() ? std::string() : it->second;
}

std::unexpected<Error> Updates::Refuse(const ComponentConfig& c, Error e, std::string version) {
  TxnView v;
  v.component = c.name;
  v.from_version = Layout(c.name).PointedVersion(Pointer::current);
  v.to_version = std::move(version);
  v.state = TxnState::failed;  // no transaction began (id 0)
  v.result = UpdateResult::failed;
  v.error_code = std::string(ErrorCodeName(e.code));
  v.error = e.message;
  auto& last = refused_[c.name];
  if (last.error != v.error || last.to_version != v.to_version) {
    Log().error("component={} release{} refused: {}", c.name,
                v.to_version.empty() ? "" : " " + v.to_version, e.ToString());
  }
  last = std::move(v);
  return std::unexpected(std::move(e));
}

Updates::Checked Updates::Check(const ComponentConfig& c, const OfferedRelease& release) {
  if (!root_) return Refuse(c, *root_error_, "");
  const std::string current_dir = Layout(c.name).PointedDir(Pointer::current);
  auto verified = Verify(c, release, current_dir);
  if (!verified || std::holds_alternative<std::string>(*verified)) return verified;
  return Admit(c, std::move(std::get<Accepted>(*verified)), current_dir);
}

Updates::Checked Updates::Verify(const ComponentConfig& c, const OfferedRelease& release,
                                 const std::string& current_dir) {
  auto floor = journal_.Floor(c.name, c.channel);
  if (!floor) return std::unexpected(floor.error());
  trust::Expect expect;
  expect.component = c.name;
  expect.channel = c.channel;
  expect.platform = std::string(HostPlatform());
  if (auto v = SemVer::Parse(BuildVersion())) expect.updater_version = *v;
  auto verified = trust::VerifyRelease(*root_, release.manifest, release.signatures, *floor, expect,
                                       deps_.clock.Now());
  if (!verified && verified.error().code == ErrorCode::sequence_rollback) {
    // An older manifest of exactly what runs here (an operator pointed the rollout back at
    // it after a newer release failed) is no attack and no news; anything else it names is.
    trust::Floor time_only;
    time_only.time_floor = floor->time_floor;
    auto again = trust::VerifyRelease(*root_, release.manifest, release.signatures, time_only,
                                      expect, deps_.clock.Now());
    if (again && VersionDirName(again->manifest.version.ToString(), again->artifact->sha256) ==
                     current_dir) {
      refused_.erase(c.name);
      return std::string("already installed");
    }
  }
  if (!verified) {
    // Signed but refused later in the order (below the floor, expired, another channel…):
    // the report names the version that was refused.
    const auto signed_version = trust::SignedVersion(*root_, release.manifest, release.signatures,
                                                     expect.allow_legacy_signatures);
    return Refuse(c, verified.error(), signed_version ? signed_version->ToString() : "");
  }
  Accepted a{std::move(*verified), "", ""};
  a.version = a.verified.manifest.version.ToString();
  a.to_dir = VersionDirName(a.version, a.verified.artifact->sha256);
  return a;
}

Updates::Checked Updates::Admit(const ComponentConfig& c, Accepted a,
                                const std::string& current_dir) {
  if (!c.pin.empty() && a.version != c.pin) return std::string("pinned to " + c.pin);
  if (current_dir == a.to_dir) {
    refused_.erase(c.name);
    return std::string("already installed");
  }
  auto bad = journal_.BadReason(c.name, a.version);
  if (!bad) return std::unexpected(bad.error());
  if (*bad) {
    Error e{ErrorCode::version_bad,
            "version " + a.version + " was rolled back here (" + **bad +
                "); it is not retried until a newer release, or an operator clears it"};
    // Offered again the version it just rolled back from (an answer to a check-in sent before
    // the rollback ended): the report stays the rollback, which the controller counts towards
    // the halt, instead of a refusal that would hide it.
    auto last = journal_.Last(c.name);
    if (last && *last && (*last)->to_version == a.version &&
        (*last)->result == UpdateResult::rolled_back) {
      refused_.erase(c.name);
      return std::unexpected(std::move(e));
    }
    return Refuse(c, std::move(e), a.version);
  }
  return a;
}

Result<std::string> Updates::Begin(const ComponentConfig& c, const OfferedRelease& release,
                                   const Accepted& a, Txn* over) {
  auto t = NewTxn(c, release, a, over);
  if (auto r = Record(c, a, *t, over); !r) return std::unexpected(r.error());
  refused_.erase(c.name);
  Txn& ref = *t;
  if (over != nullptr) {
    Log().info("component={} update to {} superseded by {} before the node ran it", c.name,
               over->view.to_version, a.version);
    deps_.sup.Hold(c.name);          // as Load() holds a transaction found in `staged`
    active_[c.name] = std::move(t);  // `over` ends here
    PruneFor(ref);
  } else {
    Log().info("component={} update {} -> {} (sequence {}) started", c.name,
               ref.view.from_version.empty() ? "(none)" : ref.view.from_version, a.version,
               a.verified.manifest.sequence);
    active_[c.name] = std::move(t);
  }
  Enter(ref, ref.view.state);
  return std::string("started");
}

std::unique_ptr<Updates::Txn> Updates::NewTxn(const ComponentConfig& c,
                                              const OfferedRelease& release, const Accepted& a,
                                              const Txn* over) const {
  auto t = std::make_unique<Txn>();
  t->view.component = c.name;
  t->view.to_version = a.version;
  t->view.grace = c.grace;
  t->channel = c.channel;
  t->to_dir = a.to_dir;
  t->manifest = release.manifest;
  t->signatures = release.signatures;
  if (over == nullptr) {
    const ComponentLayout layout = Layout(c.name);
    t->from_dir = layout.PointedDir(Pointer::current);
    t->prev_dir = layout.PointedDir(Pointer::previous);
    t->view.state = TxnState::fetching;
  } else {
    // The superseded version never ran: the new one goes back, if it must, to the last
    // version that passed its gate, and `previous` keeps naming that one. Nothing older is
    // kept (current, previous and the version installed are the disk budget).
    t->from_dir = over->from_dir;
    t->view.state = TxnState::staged;  // installed and verified by the fetch just done
    t->view.superseded = over->view.to_version;
  }
  t->view.from_version = VersionOfDir(t->from_dir);
  return t;
}

Result<void> Updates::Record(const ComponentConfig& c, const Accepted& a, Txn& t, Txn* over) {
  // The floor rises and the transaction begins in one durable step.
  StateDb::Batch batch(deps_.db);
  if (auto r = journal_.RaiseFloor(c.name, c.channel, a.verified); !r) return r;
  auto id = journal_.Begin(t, deps_.clock.Now());
  if (!id) return std::unexpected(id.error());
  t.view.id = *id;
  if (over != nullptr) {
    over->view.state = *Next(over->view.state, TxnEvent::superseded);
    over->view.result = UpdateResult::superseded;
    Save(*over);
    if (auto r = journal_.Close(over->view.id); !r) return r;
  }
  return batch.Commit();
}

bool Updates::Supersedable(const Txn& t) const {
  if (IsSelf(t) || t.view.state != TxnState::verifying || t.pending) return false;
  const auto st = deps_.sup.State(t.view.component);
  return deps_.sup.Desired(t.view.component) != DesiredState::running &&
         st != UnitState::starting && st != UnitState::running && st != UnitState::stopping;
}

std::string Updates::FetchToSupersede(const ComponentConfig& c, const OfferedRelease& release,
                                      const Accepted& a, const Txn& open) {
  // The open transaction stays as it is until the newer version is installed: a download that
  // fails leaves the node exactly as it was, its unverified version still gated at its start.
  Log().info("component={} is stopped with {} unverified: fetching {} to supersede it", c.name,
             open.view.to_version, a.version);
  superseding_[c.name] = Superseding{release, a.version, open.view.id};
  // The unverified version current points at is the base a patch may start from.
  deps_.fetch(
      FetchRequest{c.name, a.version, c.binary, *a.verified.artifact,
                   Layout(c.name).Program(Pointer::current, c.binary.empty() ? c.name : c.binary)},
      [this, name = c.name](Result<Installed> r) { Supersede(name, std::move(r)); });
  return "fetching " + a.version + " to supersede the unverified " + open.view.to_version;
}

void Updates::Supersede(const std::string& name, Result<Installed> fetched) {
  auto it = superseding_.find(name);
  if (it == superseding_.end()) return;
  const Superseding s = std::move(it->second);
  superseding_.erase(it);
  const ComponentConfig* c = Component(name);
  Txn* open = Active(name);
  if (!fetched) {
    Log().error(
        "component={} fetching {} to supersede the unverified update: {}; the node "
        "stays as it was",
        name, s.version, fetched.error().ToString());
    return;
  }
  if (Injected("update.supersede.installed")) return;
  if (c == nullptr || open == nullptr || open->view.id != s.over || !Supersedable(*open)) {
    // Started meanwhile: its own gate decides; the newer release is offered again.
    Log().info(
        "component={} {} was fetched, but the node no longer waits stopped; it is taken "
        "at the next offer",
        name, s.version);
    return;
  }
  // Checked again: time went by during the download, and the answer must not depend on it.
  auto checked = Check(*c, s.release);
  if (!checked || !std::holds_alternative<Accepted>(*checked)) return;
  if (auto r = Begin(*c, s.release, std::get<Accepted>(*checked), open); !r) {
    Log().error("component={} superseding with {}: {}", name, s.version, r.error().ToString());
    return;
  }
  // Its own fetch finds the version installed; how the bytes came is this download's.
  if (Txn* t = Active(name); t != nullptr && t->view.download.empty()) {
    t->view.download = fetched->download;
  }
  deps_.finished();
}

void Updates::PruneFor(const Txn& t) {
  std::vector<std::string> keep;
  for (const auto* d : {&t.from_dir, &t.prev_dir, &t.to_dir}) {
    if (!d->empty()) keep.push_back(*d);
  }
  if (auto r = PruneVersions(config_.state_dir, t.view.component, keep); !r) {
    Log().warn("component={} pruning versions: {}", t.view.component, r.error().ToString());
  }
}

}  // namespace steward::updater
