// The update executor's life around its transactions: loading the trust root and the unfinished
// transactions at start, resuming them, root rotation, the operator's bad-mark clearing, and
// what status shows. An offer is in updates_offer.cpp, the transaction driver in
// updates_driver.cpp.
#include "updater/updates.hpp"

#include <nlohmann/json.hpp>

#include "common/failpoint.hpp"
#include "common/platform.hpp"
#include "updater/launcher.hpp"
#include "updater/updates_txn.hpp"

namespace steward::updater {

using nlohmann::json;
using update_detail::Log;

bool update_detail::Injected(std::string_view failpoint) {
  return Failpoint(failpoint) == FailAction::error;
}

Result<trust::Artifact> update_detail::JournaledArtifact(std::string_view manifest) {
  auto m = trust::ParseManifest(manifest);
  if (!m) return std::unexpected(m.error().Wrap("the journaled manifest"));
  auto a = m->artifacts.find(std::string(HostPlatform()));
  if (a == m->artifacts.end()) {
    return Fail(ErrorCode::platform_missing,
                "the journaled manifest has no " + std::string(HostPlatform()) + " artifact");
  }
  return a->second;
}

Updates::Updates(const Config& config, Deps deps)
    : config_(config), deps_(std::move(deps)), journal_(deps_.db) {
  Reconfigured();
}

void Updates::Reconfigured() {
  self_.reset();
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

ComponentLayout Updates::Layout(std::string_view name) const {
  return ComponentLayout(config_.state_dir, name);
}

bool Updates::IsSelf(const Txn& t) const { return t.view.component == kUpdaterComponent; }

Updates::Txn* Updates::Active(std::string_view name) {
  auto it = active_.find(name);
  return it != active_.end() ? it->second.get() : nullptr;
}

bool Updates::Busy(std::string_view name) const { return active_.contains(name); }

void Updates::Save(Txn& t) {
  if (auto r = journal_.Save(t, deps_.clock.Now()); !r) {
    Log().error("journal: transaction {}: {}", t.view.id, r.error().ToString());
  }
}

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
  auto unfinished = journal_.Unfinished();
  if (!unfinished) return std::unexpected(unfinished.error());
  for (auto& j : *unfinished) {
    auto t = std::make_unique<Txn>();
    static_cast<TxnRecord&>(*t) = std::move(j.txn);
    const ComponentConfig* c = Component(t->view.component);
    if (!j.readable || c == nullptr || !c->Managed()) {
      Log().error("journal: transaction {} of '{}' cannot be resumed (state '{}'); closing it",
                  t->view.id, t->view.component, j.state_name);
      (void)journal_.Close(t->view.id);
      continue;
    }
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
  auto cleared = journal_.ClearBad(name, version);
  if (!cleared) return std::unexpected(cleared.error());
  if (!*cleared) {
    return Fail(ErrorCode::not_found, "version " + std::string(version) + " of '" +
                                          std::string(name) + "' is not marked bad here");
  }
  refused_.erase(std::string(name));
  Log().info("component={} version {}: bad mark cleared by the operator", name, version);
  return {};
}

std::optional<TxnView> Updates::Last(std::string_view name) const {
  if (auto it = active_.find(name); it != active_.end()) return it->second->view;
  if (auto it = refused_.find(name); it != refused_.end()) return it->second;
  auto last = journal_.Last(name);
  if (!last || !*last) return std::nullopt;
  TxnView v = std::move(**last);
  if (const ComponentConfig* c = Component(name)) v.grace = c->grace;
  return v;
}

}  // namespace steward::updater
