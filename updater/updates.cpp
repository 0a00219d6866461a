#include "updater/updates.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/duration.hpp"
#include "common/failpoint.hpp"
#include "common/files.hpp"
#include "common/hash.hpp"
#include "common/log.hpp"
#include "common/platform.hpp"
#include "common/version.hpp"
#include "updater/launcher.hpp"

namespace steward::updater {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

spdlog::logger& Log() { return log::Get("update"); }

// Transactions kept in the journal per component, the open one included.
constexpr std::int64_t kJournalKept = 100;

// Healthy runtime is written to the journal at least this often while it grows.
constexpr Duration kPersistEvery = 5s;

// What a link points at, as a version directory name ("1.4.2-0a1b2c3d"); "" when none.
std::string LinkDir(const fs::path& link) {
  std::error_code ec;
  const fs::path target = fs::read_symlink(link, ec);
  return ec ? "" : target.filename().string();
}

std::string VersionOfDir(const std::string& dir) {
  const auto dash = dir.rfind('-');
  return dash != std::string::npos && dir.size() - dash - 1 == 8 ? dir.substr(0, dash) : dir;
}

// Points `link` at versions/<dir>, or removes it when `dir` is empty; fsyncs the directory
// when `sync` (both links live in one directory: one fsync after the second covers both).
Result<void> PointLink(const fs::path& link, const std::string& dir, bool sync) {
  if (!dir.empty()) return files::SwitchSymlink(link, fs::path("versions") / dir, sync);
  std::error_code ec;
  fs::remove(link, ec);
  if (ec) return Fail(ErrorCode::io, "removing " + link.string() + ": " + ec.message());
  return sync ? files::FsyncDir(link.parent_path()) : Result<void>{};
}

// This host's artifact in a manifest that was verified when its transaction began.
Result<trust::Artifact> JournaledArtifact(std::string_view manifest) {
  auto m = trust::ParseManifest(manifest);
  if (!m) return std::unexpected(m.error().Wrap("the journaled manifest"));
  auto a = m->artifacts.find(std::string(HostPlatform()));
  if (a == m->artifacts.end()) {
    return Fail(ErrorCode::platform_missing,
                "the journaled manifest has no " + std::string(HostPlatform()) + " artifact");
  }
  return a->second;
}

bool Injected(std::string_view failpoint) { return Failpoint(failpoint) == FailAction::error; }

}  // namespace

UpdateReport TxnView::Report() const {
  return UpdateReport{from_version, to_version, result, error_code, error};
}

struct Updates::Txn {
  TxnView view;
  std::string channel;
  std::string from_dir, prev_dir, to_dir;
  std::string manifest;
  std::vector<std::string> signatures;
  std::int64_t swaps = 0;  // self-update: re-executions into the new version so far
  // Runtime only.
  std::optional<MonoTime> healthy_since;  // running and counted from here
  MonoTime persisted_at{};
  bool rollback_started = false;  // rolling_back: the old version was switched back and released
  // An exit seen inside the supervisor's exit handling, fed at the next Poll: the executor
  // never acts on the supervisor from within the supervisor's own callback.
  std::optional<std::pair<TxnEvent, std::optional<Error>>> pending;
};

Updates::Updates(const Config& config, Deps deps) : config_(config), deps_(std::move(deps)) {
  if (config_.self_update) {
    self_.emplace();
    self_->name = std::string(kUpdaterComponent);
    self_->binary = std::string(kUpdaterComponent);
    self_->channel = config_.self_update->channel;
    self_->grace = config_.self_update->grace;
  }
}
Updates::~Updates() = default;

const ComponentConfig* Updates::Component(std::string_view name) const {
  for (const auto& c : config_.components) {
    if (c.name == name) return &c;
  }
  if (self_ && self_->name == name) return &*self_;
  return nullptr;
}

bool Updates::IsSelf(const Txn& t) const { return t.view.component == kUpdaterComponent; }

Updates::Txn* Updates::Active(std::string_view name) {
  auto it = active_.find(name);
  return it != active_.end() ? it->second.get() : nullptr;
}

bool Updates::Busy(std::string_view name) const { return active_.contains(name); }

Result<void> Updates::Load() {
  if (auto root = trust::LoadRootFile(config_.root); root) {
    root_ = std::move(*root);
  } else {
    root_error_ = root.error().Wrap("trust root " + config_.root);
    Log().error("{}; updates are disabled until it loads (supervision goes on)",
                root_error_->ToString());
  }
  // A newer root learned by rotation (it was verified against its predecessor then; its own
  // root keys' signatures are checked again here).
  auto kept = deps_.db.GetSetting("root");
  auto kept_sigs = deps_.db.GetSetting("root_signatures");
  if (root_ && kept && *kept && kept_sigs && *kept_sigs) {
    std::vector<std::string> sigs;
    if (const auto j = json::parse(**kept_sigs, nullptr, false); j.is_array()) {
      for (const auto& s : j) {
        if (s.is_string()) sigs.push_back(s.get<std::string>());
      }
    }
    if (auto r = trust::VerifyInitialRoot(**kept, sigs); !r) {
      Log().error("the rotated root kept in state.db does not verify: {}", r.error().ToString());
    } else if (r->version > root_->version) {
      root_ = std::move(*r);
    }
  }
  auto q = deps_.db.db().Prepare(
      "SELECT id, component, channel, from_version, from_dir, prev_dir, to_version, to_dir, "
      "manifest, signatures, state, healthy_ms, result, error_code, error, swaps FROM txn "
      "WHERE closed = 0 ORDER BY id");
  if (!q) return std::unexpected(q.error());
  for (;;) {
    auto row = q->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    auto t = std::make_unique<Txn>();
    t->view.id = q->Int(0);
    t->view.component = q->Text(1);
    t->channel = q->Text(2);
    t->view.from_version = q->Text(3);
    t->from_dir = q->Text(4);
    t->prev_dir = q->Text(5);
    t->view.to_version = q->Text(6);
    t->to_dir = q->Text(7);
    t->manifest = q->Text(8);
    const auto state = TxnStateFromName(q->Text(10));
    const auto sigs = json::parse(q->Text(9), nullptr, false);
    const ComponentConfig* c = Component(t->view.component);
    if (!state || !sigs.is_array() || c == nullptr || !c->Managed()) {
      Log().error("journal: transaction {} of '{}' cannot be resumed (state '{}'); closing it",
                  t->view.id, t->view.component, q->Text(10));
      auto close = deps_.db.db().Prepare("UPDATE txn SET closed = 1 WHERE id = ?1");
      if (close) (void)close->Bind(1, t->view.id).Run();
      continue;
    }
    for (const auto& s : sigs) t->signatures.push_back(s.get<std::string>());
    t->view.state = *state;
    t->view.healthy = std::chrono::milliseconds(q->Int(11));
    t->view.result = UpdateResultFromName(q->Text(12));
    t->view.error_code = q->Text(13);
    t->view.error = q->Text(14);
    t->swaps = q->Int(15);
    t->view.grace = c->grace;
    const std::string name = t->view.component;
    Log().info("component={} resuming update {} -> {} at '{}'", name,
               t->view.from_version.empty() ? "(none)" : t->view.from_version, t->view.to_version,
               TxnStateName(t->view.state));
    // Steps that act on a stopped node keep it from starting until they are done.
    switch (t->view.state) {
      case TxnState::staged:
      case TxnState::switching:
      case TxnState::switched:
      case TxnState::rolling_back:
        deps_.sup.Hold(name);
        break;
      default:
        break;
    }
    active_[name] = std::move(t);
  }
  return {};
}

void Updates::Resume() {
  std::vector<std::string> names;
  for (const auto& [name, t] : active_) names.push_back(name);
  for (const auto& name : names) {
    if (Txn* t = Active(name)) Act(*t);
  }
}

Result<trust::Floor> Updates::LoadFloor(const ComponentConfig& c) {
  trust::Floor floor;
  auto q = deps_.db.db().Prepare(
      "SELECT root_version, sequence, manifest_sha256, time_floor_ms FROM trust_floor "
      "WHERE component = ?1 AND channel = ?2");
  if (!q) return std::unexpected(q.error());
  q->Bind(1, c.name).Bind(2, c.channel);
  auto row = q->Step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return floor;
  floor.root_version = static_cast<std::uint64_t>(q->Int(0));
  floor.sequence = static_cast<std::uint64_t>(q->Int(1));
  if (auto d = HexDecode(q->Text(2)); d && d->size() == floor.manifest_sha256.emplace().size()) {
    std::copy(d->begin(), d->end(), floor.manifest_sha256->begin());
  } else {
    floor.manifest_sha256.reset();
  }
  floor.time_floor = FromMillis(q->Int(3));
  return floor;
}

std::unexpected<Error> Updates::Refuse(const ComponentConfig& c, Error e, std::string version) {
  TxnView v;
  v.component = c.name;
  v.from_version =
      VersionOfDir(LinkDir(fs::path(config_.state_dir) / "components" / c.name / "current"));
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

Result<std::string> Updates::Offer(const OfferedRelease& release) {
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
  Txn* open = Active(c->name);
  if (auto s = superseding_.find(c->name); s != superseding_.end()) {
    return "fetching " + s->second.version + " to supersede an unverified update";
  }
  if (open != nullptr && !Supersedable(*open)) return std::string("an update is in progress");
  if (c->hold) return std::string("held by configuration (hold = true)");
  auto checked = Check(*c, release);
  if (!checked) return std::unexpected(checked.error());
  if (auto* answer = std::get_if<std::string>(&*checked)) return std::move(*answer);
  auto& accepted = std::get<Accepted>(*checked);
  if (open == nullptr) return Begin(*c, release, accepted, nullptr);

  // The open transaction stays as it is until the newer version is installed: a download that
  // fails leaves the node exactly as it was, its unverified version still gated at its start.
  Log().info("component={} is stopped with {} unverified: fetching {} to supersede it", c->name,
             open->view.to_version, accepted.version);
  superseding_[c->name] = Superseding{release, accepted.version, open->view.id};
  deps_.fetch(FetchRequest{c->name, accepted.version, c->binary, *accepted.verified.artifact},
              [this, name = c->name](Result<Installed> r) { Supersede(name, std::move(r)); });
  return "fetching " + accepted.version + " to supersede the unverified " + open->view.to_version;
}

Result<std::variant<std::string, Updates::Accepted>> Updates::Check(const ComponentConfig& c,
                                                                    const OfferedRelease& release) {
  if (!root_) return Refuse(c, *root_error_, "");
  auto floor = LoadFloor(c);
  if (!floor) return std::unexpected(floor.error());
  trust::Expect expect;
  expect.component = c.name;
  expect.channel = c.channel;
  expect.platform = std::string(HostPlatform());
  if (auto v = SemVer::Parse(BuildVersion())) expect.updater_version = *v;
  const fs::path comp_dir = fs::path(config_.state_dir) / "components" / c.name;
  const std::string current_dir = LinkDir(comp_dir / "current");
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

  if (!c.pin.empty() && a.version != c.pin) return std::string("pinned to " + c.pin);
  if (current_dir == a.to_dir) {
    refused_.erase(c.name);
    return std::string("already installed");
  }
  auto q =
      deps_.db.db().Prepare("SELECT reason FROM bad_version WHERE component = ?1 AND version = ?2");
  if (!q) return std::unexpected(q.error());
  q->Bind(1, c.name).Bind(2, a.version);
  auto row = q->Step();
  if (!row) return std::unexpected(row.error());
  if (*row) {
    return Refuse(c,
                  Error{ErrorCode::version_bad,
                        "version " + a.version + " was rolled back here (" + q->Text(0) +
                            "); it is not retried until a newer release, or an operator clears it"},
                  a.version);
  }
  return a;
}

Result<std::string> Updates::Begin(const ComponentConfig& c, const OfferedRelease& release,
                                   const Accepted& a, Txn* over) {
  const fs::path comp_dir = fs::path(config_.state_dir) / "components" / c.name;
  const trust::Manifest& m = a.verified.manifest;
  auto t = std::make_unique<Txn>();
  t->view.component = c.name;
  t->view.to_version = a.version;
  t->view.grace = c.grace;
  t->channel = c.channel;
  t->to_dir = a.to_dir;
  t->manifest = release.manifest;
  t->signatures = release.signatures;
  if (over == nullptr) {
    t->from_dir = LinkDir(comp_dir / "current");
    t->prev_dir = LinkDir(comp_dir / "previous");
    t->view.state = TxnState::fetching;
  } else {
    // The superseded version never ran: the new one goes back, if it must, to the last
    // version that passed its gate, and `previous` keeps naming that one. Nothing older is
    // kept (current, previous and the version installed are the disk budget).
    t->from_dir = over->from_dir;
    t->view.state = TxnState::staged;  // installed and verified by the fetch just done
  }
  t->view.from_version = VersionOfDir(t->from_dir);
  {
    // The floor rises and the transaction begins in one durable step.
    StateDb::Batch batch(deps_.db);
    const auto now_ms = ToMillis(deps_.clock.Now());
    auto fl = deps_.db.db().Prepare(
        "INSERT INTO trust_floor(component, channel, root_version, sequence, manifest_sha256, "
        "time_floor_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(component, channel) DO UPDATE "
        "SET root_version = ?3, sequence = ?4, manifest_sha256 = ?5, "
        "time_floor_ms = max(time_floor_ms, ?6)");
    if (!fl) return std::unexpected(fl.error());
    fl->Bind(1, c.name)
        .Bind(2, c.channel)
        .Bind(3, static_cast<std::int64_t>(m.root_version))
        .Bind(4, static_cast<std::int64_t>(m.sequence))
        .Bind(5, HexEncode(a.verified.manifest_sha256))
        .Bind(6, ToMillis(m.issued_at));  // never lowered: max() in the upsert
    if (auto r = fl->Run(); !r) return std::unexpected(r.error());
    auto ins = deps_.db.db().Prepare(
        "INSERT INTO txn(component, channel, from_version, from_dir, prev_dir, to_version, "
        "to_dir, manifest, signatures, state, started_at_ms, updated_at_ms) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)");
    if (!ins) return std::unexpected(ins.error());
    ins->Bind(1, c.name)
        .Bind(2, c.channel)
        .Bind(3, t->view.from_version)
        .Bind(4, t->from_dir)
        .Bind(5, t->prev_dir)
        .Bind(6, a.version)
        .Bind(7, a.to_dir)
        .Bind(8, release.manifest)
        .Bind(9, json(release.signatures).dump())
        .Bind(10, TxnStateName(t->view.state))
        .Bind(11, now_ms);
    if (auto r = ins->Run(); !r) return std::unexpected(r.error());
    t->view.id = deps_.db.db().LastInsertRowid();
    if (over != nullptr) {
      over->view.state = *Next(over->view.state, TxnEvent::superseded);
      over->view.result = UpdateResult::superseded;
      Save(*over);
      auto close = deps_.db.db().Prepare("UPDATE txn SET closed = 1 WHERE id = ?1");
      if (!close) return std::unexpected(close.error());
      if (auto r = close->Bind(1, over->view.id).Run(); !r) return std::unexpected(r.error());
    }
    if (auto r = batch.Commit(); !r) return std::unexpected(r.error());
  }
  refused_.erase(c.name);
  Txn& ref = *t;
  if (over != nullptr) {
    Log().info("component={} update to {} superseded by {} before the node ran it", c.name,
               over->view.to_version, a.version);
    deps_.sup.Hold(c.name);  // as Load() holds a transaction found in `staged`
    active_[c.name] = std::move(t);
    PruneFor(ref);
  } else {
    Log().info("component={} update {} -> {} (sequence {}) started", c.name,
               ref.view.from_version.empty() ? "(none)" : ref.view.from_version, a.version,
               m.sequence);
    active_[c.name] = std::move(t);
  }
  Enter(ref, ref.view.state);
  return std::string("started");
}

bool Updates::Supersedable(const Txn& t) const {
  if (IsSelf(t) || t.view.state != TxnState::verifying || t.pending) return false;
  const auto st = deps_.sup.State(t.view.component);
  return deps_.sup.Desired(t.view.component) != DesiredState::running &&
         st != UnitState::starting && st != UnitState::running && st != UnitState::stopping;
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

std::function<void(Result<void>)> Updates::Continue(const Txn& t) {
  return [this, name = t.view.component, id = t.view.id, state = t.view.state](Result<void> r) {
    Txn* cur = Active(name);
    if (cur == nullptr || cur->view.id != id || cur->view.state != state) {
      return;  // a late answer for a transaction that moved on
    }
    if (!r) {
      Feed(*cur, TxnEvent::error, r.error());
    } else {
      Feed(*cur, TxnEvent::done);
    }
  };
}

void Updates::Save(Txn& t) {
  auto q = deps_.db.db().Prepare(
      "UPDATE txn SET state = ?2, result = ?3, error_code = ?4, error = ?5, healthy_ms = ?6, "
      "updated_at_ms = ?7, swaps = ?8 WHERE id = ?1");
  if (!q) {
    Log().error("journal: transaction {}: {}", t.view.id, q.error().ToString());
    return;
  }
  q->Bind(1, t.view.id)
      .Bind(2, TxnStateName(t.view.state))
      .Bind(3, t.view.result ? UpdateResultName(*t.view.result) : "")
      .Bind(4, t.view.error_code)
      .Bind(5, t.view.error)
      .Bind(6, std::chrono::duration_cast<std::chrono::milliseconds>(t.view.healthy).count())
      .Bind(7, ToMillis(deps_.clock.Now()))
      .Bind(8, t.swaps);
  if (auto r = q->Run(); !r) {
    Log().error("journal: transaction {}: {}", t.view.id, r.error().ToString());
  }
}

void Updates::Enter(Txn& t, TxnState state) {
  const TxnState from = t.view.state;
  t.view.state = state;
  t.rollback_started = false;
  t.pending.reset();
  {
    // Recorded before it is acted on. The new version's failure streak starts in the same
    // durable step as the switch (one fsync less while the node is down).
    StateDb::Batch batch(deps_.db);
    Save(t);
    if (state == TxnState::switching) deps_.sup.ResetFailures(t.view.component);
    if (auto r = batch.Commit(); !r) Log().error("journal: {}", r.error().ToString());
  }
  Log().info("component={} update {} -> {}: {}{}", t.view.component,
             t.view.from_version.empty() ? "(none)" : t.view.from_version, t.view.to_version,
             from == state ? "" : std::string(TxnStateName(from)) + " -> ", TxnStateName(state));
  if (Injected("update." + std::string(TxnStateName(state)))) {
    Feed(t, TxnEvent::error,
         Error{ErrorCode::internal,
               "injected failure at update." + std::string(TxnStateName(state))});
    return;
  }
  Act(t);
}

void Updates::Feed(Txn& t, TxnEvent event, std::optional<Error> error) {
  const auto next = Next(t.view.state, event);
  if (!next) {
    Log().debug("component={} update: event {} ignored in {}", t.view.component,
                TxnEventName(event), TxnStateName(t.view.state));
    return;
  }
  if (error && t.view.error_code.empty()) {
    t.view.error_code = std::string(ErrorCodeName(error->code));
    t.view.error = error->message;
    Log().error("component={} update {} -> {}: {}", t.view.component, t.view.from_version,
                t.view.to_version, error->ToString());
  }
  Enter(t, *next);
}

void Updates::Act(Txn& t) {
  const std::string name = t.view.component;
  const ComponentConfig& c = *Component(name);
  if (IsSelf(t) && ActionFor(t.view.state) != TxnAction::fetch &&
      ActionFor(t.view.state) != TxnAction::switch_to_new) {
    ActSelf(t);
    return;
  }
  switch (ActionFor(t.view.state)) {
    case TxnAction::fetch: {
      // The journal holds the manifest verified when the transaction began.
      auto artifact = JournaledArtifact(t.manifest);
      if (!artifact) {
        Feed(t, TxnEvent::error, artifact.error());
        return;
      }
      deps_.fetch(FetchRequest{name, t.view.to_version, c.binary, *artifact},
                  [then = Continue(t)](Result<Installed> r) {
                    then(r ? Result<void>{} : Result<void>(std::unexpected(r.error())));
                  });
      return;
    }
    case TxnAction::hold_node:
      // The old version keeps running while the links switch; it is replaced in one step
      // once the switch is durable (start_node), so the node is down only for the restart.
      deps_.sup.Hold(name, false);
      Feed(t, TxnEvent::done);
      return;
    case TxnAction::switch_to_new:
      SwitchLinks(t, true);
      return;
    case TxnAction::start_node:
      deps_.sup.Release(name, true);
      if (deps_.sup.Desired(name) == DesiredState::running) {
        Feed(t, TxnEvent::done);
      } else {
        Log().info(
            "component={} is stopped by its operator: {} stays stopped, unverified; its "
            "next start runs the health gate",
            name, t.view.to_version);
        Feed(t, TxnEvent::node_stopped);
      }
      return;
    case TxnAction::await_ready:
    case TxnAction::await_healthy:
      Poll();
      return;
    case TxnAction::roll_back:
      RollBackStep(t);
      return;
    case TxnAction::mark_committed:
    case TxnAction::mark_bad:
    case TxnAction::discard:
      Finish(t);
      return;
    case TxnAction::none:
      return;
  }
}

// Switches `current` (and `previous`) to the new version (forward) or back to what they were.
void Updates::SwitchLinks(Txn& t, bool forward) {
  const fs::path dir = fs::path(config_.state_dir) / "components" / t.view.component;
  const std::string& prev = forward ? t.from_dir : t.prev_dir;
  const std::string& cur = forward ? t.to_dir : t.from_dir;
  Result<void> r;
  // A first install has no old version to keep as previous.
  if (!forward || !t.from_dir.empty()) r = PointLink(dir / "previous", prev, false);
  if (r && Injected(forward ? "update.switch.between_links" : "update.rollback.between_links")) {
    r = Fail(ErrorCode::internal, "injected failure between the links");
  }
  if (r) r = PointLink(dir / "current", cur, true);
  // A superseded version that never ran (and what only its rollback needed) goes now.
  if (r && forward) PruneFor(t);
  if (!forward) {
    deps_.sup.ResetFailures(t.view.component);
    if (!r) Log().error("component={} rollback: {}", t.view.component, r.error().ToString());
  } else if (!r) {
    Feed(t, TxnEvent::error, r.error());
  } else {
    Feed(t, TxnEvent::done);
  }
}

void Updates::RollBackStep(Txn& t) {
  const std::string& name = t.view.component;
  if (!t.rollback_started) {
    // Before the replacement (a failed switch) the old version still runs and may go on.
    const bool old_runs =
        !t.view.from_version.empty() && deps_.sup.RunningVersion(name) == t.view.from_version;
    deps_.sup.Hold(name, !old_runs);
    const auto st = deps_.sup.State(name);
    if (!old_runs &&
        (st == UnitState::starting || st == UnitState::running || st == UnitState::stopping)) {
      return;
    }
    SwitchLinks(t, false);
    t.rollback_started = true;
    deps_.sup.Release(name);
    if (t.from_dir.empty() || deps_.sup.Desired(name) != DesiredState::running) {
      Feed(t, TxnEvent::done);
      return;
    }
  }
  // The old version must come back up; if it cannot either, the host is at fault.
  if (deps_.sup.State(name) == UnitState::running) Feed(t, TxnEvent::done);
}

// Self-update: the same table, where "the node" is this very process. Stopping becomes the
// qualification of the new binary (`selftest`), starting becomes a re-exec through the launcher
// (same PID, children kept), and readiness is this process running the new version after it.
// When the new version cannot start, the launcher falls back to the previous one, which finds
// the transaction with the version it does not run and rolls it back.
void Updates::ActSelf(Txn& t) {
  const bool am_new = BuildVersion() == t.view.to_version;
  switch (t.view.state) {
    case TxnState::staged: {
      const fs::path binary = fs::path(config_.state_dir) / "components" / t.view.component /
                              "versions" / t.to_dir / std::string(kUpdaterComponent);
      deps_.selftest(binary.string(), t.view.to_version, Continue(t));
      return;
    }
    case TxnState::switched:
      Feed(t, TxnEvent::done);
      return;
    case TxnState::restarting:
      if (am_new) {
        Feed(t, TxnEvent::ready);
      } else if (t.swaps == 0) {
        ++t.swaps;
        Save(t);  // before the exec: the next process knows it was tried
        Log().info("updater {} re-executing into {}", BuildVersion(), t.view.to_version);
        deps_.reexec();
      } else {
        Feed(t, TxnEvent::unhealthy,
             Error{ErrorCode::health_gate_failed, "updater " + t.view.to_version +
                                                      " did not start; the launcher ran " +
                                                      std::string(BuildVersion()) + " instead"});
      }
      return;
    case TxnState::verifying:
      if (!am_new) {
        Feed(t, TxnEvent::unhealthy,
             Error{ErrorCode::health_gate_failed, "updater " + t.view.to_version +
                                                      " stopped running within its grace period; "
                                                      "the launcher fell back to " +
                                                      std::string(BuildVersion())});
      } else {
        Poll();
      }
      return;
    case TxnState::rolling_back:
      if (!t.rollback_started) {
        SwitchLinks(t, false);
        t.rollback_started = true;
      }
      if (am_new) {
        deps_.reexec();  // the launcher now picks the restored version
      } else {
        Feed(t, TxnEvent::done);
      }
      return;
    default:
      Finish(t);
      return;
  }
}

void Updates::OfferRoot(const OfferedRoot& offered) {
  if (!root_) return;
  auto parsed = trust::ParseRoot(offered.root);
  if (!parsed) {
    Log().error("root from the controller: {}", parsed.error().ToString());
    return;
  }
  if (parsed->version <= root_->version) return;
  if (parsed->version != root_->version + 1) {
    Log().error(
        "root from the controller is version {}, this host trusts version {}: it needs "
        "every root in between; install root {} (root.json) on this host",
        parsed->version, root_->version, root_->version + 1);
    return;
  }
  auto next = trust::VerifyRootRotation(*root_, offered.root, offered.signatures);
  if (!next) {
    Log().error("root {} from the controller refused: {}", parsed->version,
                next.error().ToString());
    return;
  }
  StateDb::Batch batch(deps_.db);
  auto r = deps_.db.SetSetting("root", offered.root);
  if (r) r = deps_.db.SetSetting("root_signatures", json(offered.signatures).dump());
  if (r) r = batch.Commit();
  if (!r) {
    Log().error("keeping root {}: {}", parsed->version, r.error().ToString());
    return;
  }
  Log().info("trusted root rotated from version {} to {}", root_->version, next->version);
  root_ = std::move(*next);
}

Result<void> Updates::ClearBad(std::string_view name, std::string_view version) {
  auto q = deps_.db.db().Prepare("DELETE FROM bad_version WHERE component = ?1 AND version = ?2");
  if (!q) return std::unexpected(q.error());
  if (auto r = q->Bind(1, name).Bind(2, version).Run(); !r) return r;
  if (sqlite3_changes(deps_.db.db().Raw()) == 0) {
    return Fail(ErrorCode::not_found, "version " + std::string(version) + " of '" +
                                          std::string(name) + "' is not marked bad here");
  }
  refused_.erase(std::string(name));
  Log().info("component={} version {}: bad mark cleared by the operator", name, version);
  return {};
}

void Updates::OnExit(std::string_view name, const ExitInfo& exit, bool crash_loop) {
  Txn* t = Active(name);
  if (t == nullptr) return;
  Accumulate(*t, deps_.clock.Monotonic());
  const bool gate_failure =
      crash_loop || exit.kind == ExitKind::start_failure || exit.kind == ExitKind::watchdog;
  switch (t->view.state) {
    case TxnState::restarting:
    case TxnState::verifying:
      if (gate_failure && !t->pending) {
        t->pending.emplace(TxnEvent::unhealthy,
                           Error{ErrorCode::health_gate_failed,
                                 "version " + t->view.to_version + " failed its health gate: " +
                                     std::string(ExitKindName(exit.kind)) + " (" + exit.Describe() +
                                     ")" + (crash_loop ? ", crash loop" : "")});
      }
      return;
    case TxnState::rolling_back:
      if (t->rollback_started && IsFailure(exit.kind) && !t->pending) {
        t->view.result = UpdateResult::environment;
        t->view.error_code = std::string(ErrorCodeName(ErrorCode::environment));
        t->view.error = "version " + t->view.from_version + " also failed after the rollback (" +
                        std::string(ExitKindName(exit.kind)) + "): the host, not version " +
                        t->view.to_version + ", is at fault";
        t->pending.emplace(TxnEvent::error, std::nullopt);
      }
      return;
    default:
      return;
  }
}

void Updates::Accumulate(Txn& t, MonoTime now) {
  if (t.view.state != TxnState::verifying) {
    t.healthy_since.reset();
    return;
  }
  const bool running = IsSelf(t) ? BuildVersion() == t.view.to_version
                                 : deps_.sup.State(t.view.component) == UnitState::running;
  if (t.healthy_since) t.view.healthy += now - *t.healthy_since;
  t.healthy_since = running ? std::optional<MonoTime>(now) : std::nullopt;
}

void Updates::Poll() {
  const MonoTime now = deps_.clock.Monotonic();
  std::vector<std::string> names;
  for (const auto& [name, t] : active_) names.push_back(name);
  for (const auto& name : names) {
    Txn* t = Active(name);
    if (t == nullptr) continue;
    if (t->pending) {
      auto [event, error] = std::move(*t->pending);
      t->pending.reset();
      Feed(*t, event, std::move(error));
      continue;
    }
    // The updater itself is no supervised process: only its healthy time is polled.
    if (IsSelf(*t) && t->view.state != TxnState::verifying) continue;
    const auto st = deps_.sup.State(name);
    const bool idle =
        st != UnitState::starting && st != UnitState::running && st != UnitState::stopping;
    switch (t->view.state) {
      case TxnState::restarting:
        if (st == UnitState::running) {
          Feed(*t, TxnEvent::ready);
        } else if (idle && deps_.sup.Desired(name) != DesiredState::running) {
          Feed(*t, TxnEvent::node_stopped);
        }
        break;
      case TxnState::verifying: {
        Accumulate(*t, now);
        if (t->view.healthy >= t->view.grace) {
          Feed(*t, TxnEvent::healthy);
        } else if (now - t->persisted_at >= kPersistEvery && t->healthy_since) {
          t->persisted_at = now;
          Save(*t);
        }
        break;
      }
      case TxnState::rolling_back:
        RollBackStep(*t);
        break;
      default:
        break;
    }
  }
}

std::optional<MonoTime> Updates::NextDeadline() const {
  std::optional<MonoTime> next;
  for (const auto& [name, t] : active_) {
    if (t->view.state != TxnState::verifying || !t->healthy_since) continue;
    MonoTime at = *t->healthy_since + (t->view.grace - t->view.healthy);
    at = std::min(at, t->persisted_at + kPersistEvery);
    if (!next || at < *next) next = at;
  }
  return next;
}

void Updates::Finish(Txn& t) {
  const std::string name = t.view.component;
  switch (t.view.state) {
    case TxnState::committed:
      t.view.result = UpdateResult::committed;
      Log().info(
          "component={} version {} verified: healthy for {}; committed", name, t.view.to_version,
          FormatDuration(std::chrono::duration_cast<std::chrono::milliseconds>(t.view.healthy)));
      break;
    case TxnState::rolled_back: {
      if (t.view.result == UpdateResult::environment) {
        Log().error("component={} {}", name, t.view.error);
        break;
      }
      t.view.result = UpdateResult::rolled_back;
      const std::string from = t.view.from_version.empty() ? "(none)" : t.view.from_version;
      if (t.view.error_code != ErrorCodeName(ErrorCode::health_gate_failed)) {
        // The version never got its chance (the switch itself failed: a disk error, say): back
        // where it was, and the release is tried again when it is offered again.
        Log().error(
            "component={} update to {} rolled back to {}: {}; not the version's fault, "
            "not marked bad",
            name, t.view.to_version, from, t.view.error);
        break;
      }
      auto q = deps_.db.db().Prepare(
          "INSERT INTO bad_version(component, version, reason, at_ms) VALUES(?1, ?2, ?3, ?4) "
          "ON CONFLICT(component, version) DO NOTHING");
      Result<void> r = q ? q->Bind(1, name)
                               .Bind(2, t.view.to_version)
                               .Bind(3, t.view.error_code)
                               .Bind(4, ToMillis(deps_.clock.Now()))
                               .Run()
                         : Result<void>(std::unexpected(q.error()));
      if (!r) Log().error("journal: marking {} bad: {}", t.view.to_version, r.error().ToString());
      Log().error("component={} version {} rolled back to {} and marked bad", name,
                  t.view.to_version, from);
      break;
    }
    case TxnState::failed:
      t.view.result = UpdateResult::failed;
      break;
    default:
      return;
  }
  Save(t);
  // A failed step before the switch may have left the node held.
  deps_.sup.Release(name);
  // Retention: current and previous stay; the rest (a rolled-back version, an install that
  // never got switched to) goes. Partial downloads of other open transactions stay.
  if (auto r = PruneVersions(config_.state_dir, name); !r) {
    Log().warn("component={} pruning versions: {}", name, r.error().ToString());
  }
  std::vector<std::string> keep;
  for (const auto& [other, o] : active_) {
    if (other == name || o->view.state != TxnState::fetching) continue;
    if (auto a = JournaledArtifact(o->manifest)) keep.push_back(StagingKey(other, a->sha256));
  }
  // A failed download keeps its resumable partial (the fetcher removed anything else).
  if (t.view.state != TxnState::failed) {
    if (auto r = PruneStaging(config_.state_dir, keep); !r) {
      Log().warn("pruning staging: {}", r.error().ToString());
    }
  }
  // Closed, and the journal keeps the last kJournalKept transactions of the component (a
  // release that keeps failing to download is tried again at every check-in).
  auto q = deps_.db.db().Prepare("UPDATE txn SET closed = 1 WHERE id = ?1");
  if (q) (void)q->Bind(1, t.view.id).Run();
  auto trim = deps_.db.db().Prepare(
      "DELETE FROM txn WHERE component = ?1 AND closed = 1 AND id <= (SELECT id FROM txn WHERE "
      "component = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)");
  if (trim) (void)trim->Bind(1, name).Bind(2, kJournalKept).Run();
  active_.erase(name);
  deps_.finished();
}

std::optional<TxnView> Updates::Last(std::string_view name) const {
  if (auto it = active_.find(name); it != active_.end()) return it->second->view;
  if (auto it = refused_.find(name); it != refused_.end()) return it->second;
  auto q = deps_.db.db().Prepare(
      "SELECT id, from_version, to_version, state, result, error_code, error, healthy_ms FROM txn "
      "WHERE component = ?1 ORDER BY id DESC LIMIT 1");
  if (!q) return std::nullopt;
  q->Bind(1, name);
  auto row = q->Step();
  if (!row || !*row) return std::nullopt;
  TxnView v;
  v.id = q->Int(0);
  v.component = std::string(name);
  v.from_version = q->Text(1);
  v.to_version = q->Text(2);
  v.state = TxnStateFromName(q->Text(3)).value_or(TxnState::failed);
  v.result = UpdateResultFromName(q->Text(4));
  v.error_code = q->Text(5);
  v.error = q->Text(6);
  v.healthy = std::chrono::milliseconds(q->Int(7));
  if (const ComponentConfig* c = Component(name)) v.grace = c->grace;
  return v;
}

}  // namespace steward::updater
