#include "updater/daemon.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <random>

#include "common/files.hpp"
#include "common/http_client.hpp"
#include "common/log.hpp"
#include "common/sd_notify.hpp"
#include "common/version.hpp"
#include "updater/checkin.hpp"
#include "updater/checkin_scheduler.hpp"
#include "updater/event_loop.hpp"
#include "updater/fetch.hpp"
#include "updater/launcher.hpp"
#include "updater/local_api.hpp"
#include "updater/local_api_transport.hpp"
#include "updater/notify_socket.hpp"
#include "updater/process.hpp"
#include "updater/reload_plan.hpp"
#include "updater/signals.hpp"
#include "updater/state_db.hpp"
#include "updater/supervisor.hpp"
#include "updater/updates.hpp"

namespace steward::updater {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

spdlog::logger& Log() { return log::Get("main"); }

// HTTP readiness probes, one at a time on their own thread so the loop never blocks.
class Prober {
 public:
  explicit Prober(EventLoop& loop) : loop_(loop) {}
  void Probe(std::string url, std::function<void(bool)> answer) {
    worker_.Post([this, url = std::move(url), answer = std::move(answer)] {
      // Created at the first probe: libcurl (in the updater when http_helper = false) costs
      // megabytes of resident memory that an updater without HTTP readiness never needs.
      if (!client_) {
        http::ClientOptions options;
        options.connect_timeout = 1s;
        options.timeout = 2s;
        client_.emplace(options);
      }
      auto r = client_->Get(url);
      const bool ok = r && r->status >= 200 && r->status < 300;
      loop_.Post([answer, ok] { answer(ok); });
    });
  }

 private:
  EventLoop& loop_;
  std::optional<http::Client> client_;  // used on the worker's thread only
  Worker worker_;                       // declared last: joined before the client goes
};

// Self-update's qualification: the new binary's `selftest` must report the version the
// manifest says, within 30 s.
Result<void> Selftest(const std::string& binary, const std::string& version,
                      const std::string& config_path) {
  auto out = RunForOutput(binary, {"selftest", "--config", config_path}, 30s);
  const std::string want = "steward-updater " + version + " selftest ok";
  if (!out) return Fail(ErrorCode::selftest_failed, out.error().message);
  if (out->find(want) == std::string::npos) {
    return Fail(ErrorCode::selftest_failed, binary + " selftest did not report '" + want +
                                                "'; it said: " + out->substr(0, 500));
  }
  return {};
}

// The check-in's components[]: each supervised component, then the updater itself when it
// updates itself.
std::vector<ComponentReport> ComponentReports(const Config& config, const Supervisor& sup,
                                              const Updates& updates) {
  std::vector<ComponentReport> out;
  for (const auto& u : sup.Status()) {
    const ComponentConfig* c = nullptr;
    for (const auto& x : config.components) {
      if (x.name == u.name) c = &x;
    }
    ComponentReport r;
    r.name = u.name;
    r.channel = c != nullptr ? c->channel : "";
    r.running_version = u.running_version;
    r.installed_version = u.installed_version;
    r.previous_version = u.previous_version;
    r.desired_state = DesiredStateName(u.desired);
    r.state = std::string(UnitStateName(u.state));
    r.last_exit = u.last_exit;
    r.restarts = u.restarts;
    r.crash_loop = u.crash_loop;
    if (auto t = updates.Last(u.name)) r.last_update = t->Report();
    out.push_back(std::move(r));
  }
  if (config.self_update) {
    ComponentReport me;
    me.name = std::string(kUpdaterComponent);
    me.channel = config.self_update->channel;
    me.running_version = me.installed_version = std::string(BuildVersion());
    me.desired_state = me.state = "running";
    if (auto t = updates.Last(kUpdaterComponent)) me.last_update = t->Report();
    out.push_back(std::move(me));
  }
  return out;
}

// Everything of the daemon behind its local API, on the loop thread: the state database, the
// supervisor and the update executor, check-ins, the notify sockets, and the parts of the
// loop's turn. It owns the live configuration, which only Reload() changes (SIGHUP and
// `steward-updater reload`); the worker threads read only what a reload never changes.
class Daemon final : public LocalApi::Daemon {
 public:
  Daemon(const Config& config, Clock& clock, EventLoop& loop, const Notifier& self)
      : config_(config), clock_(clock), loop_(loop), self_(self), prober_(loop) {
    if (config_.controller) {
      checkin_.emplace(clock_, config_.controller->checkin_interval, [this] { return Jitter(); });
    }
  }

  // Opens the state database, binds a notify socket per component and loads what the
  // supervisor and the update executor recorded. Logs why it failed, when it did.
  Result<void> Load(const std::string& notify_dir);
  // Starts the components, resumes their updates and tells systemd the updater is ready.
  void Start();
  // Adds the parts of the loop's turn, in their order; `signals` wake it too.
  void AddToLoop(Signals& signals);
  // Stopped, or asked to re-execute (which leaves the components running).
  bool Done() const { return (reexec_ && !stopping_) || (stopping_ && sup_->Idle()); }
  bool reexec() const { return reexec_; }
  // A download in progress ends (it resumes at the next start).
  void CancelDownloads() { cancel_downloads_ = true; }

  std::string Status() override;
  Result<std::string> Apply(const OfferedRelease& release) override {
    return updates_->Offer(release);
  }
  Result<void> Command(const std::string& name, const std::string& command) override {
    return sup_->Command(name, command);
  }
  Result<void> ClearBad(const std::string& name, const std::string& version) override {
    return updates_->ClearBad(name, version);
  }
  bool CheckNow() override {
    if (checkin_) checkin_->CheckNow();
    return checkin_.has_value();
  }
  void Reexec() override { reexec_ = true; }
  Result<std::string> Reload() override;

 private:
  double Jitter() { return uniform_(rng_); }
  void BuildSupervisor(const std::string& notify_dir);
  void BuildUpdates();
  Result<void> BindNotifySockets();
  void OnSignal(const DaemonSignal& signal);
  Result<void> BindNotifySocket(const std::string& name);
  void ApplyReload(const Config& next, const ReloadPlan& plan);
  void ReloadController();
  FetchOptions DownloadOptions();
  void ReadNotifySockets();
  std::vector<int> FollowPids();
  void StartCheckin();
  void FinishCheckin(CheckinState st, Result<CheckinAnswer> answer);
  void ApplyFlags(const std::string& flags);

  Config config_;
  Clock& clock_;
  EventLoop& loop_;
  const Notifier& self_;
  bool stopping_ = false;
  bool reexec_ = false;
  std::mt19937_64 rng_{std::random_device{}()};
  std::uniform_real_distribution<double> uniform_{-1.0, 1.0};
  std::optional<CheckinScheduler> checkin_;
  std::optional<StateDb> db_;
  SystemLauncher launcher_;
  Prober prober_;
  std::optional<Supervisor> sup_;
  // Downloads and self-tests run on their own thread; the fetcher is made there at the first.
  std::atomic<bool> cancel_downloads_{false};
  // Read on the download thread: fetch_options_ and fetcher_ are also changed only there.
  const std::string state_dir_ = config_.state_dir;
  const std::string config_path_ = config_.path;
  FetchOptions fetch_options_;
  std::optional<Fetcher> fetcher_;
  Worker downloads_;
  std::optional<Updates> updates_;
  Updates* engine_ = nullptr;  // once loaded: the supervisor reports exits to it
  // Check-ins run on their own thread (blocking HTTP with failover); reports are built and
  // answers applied on the loop thread.
  std::optional<CheckinClient> client_;
  CheckinState identity_;
  Worker checkins_;
  std::map<std::string, NotifySocket> notify_;
  std::map<pid_t, files::UniqueFd> pidfds_;
  std::optional<Duration> self_watchdog_;
  MonoTime next_self_ping_{};
};

Result<void> Daemon::Load(const std::string& notify_dir) {
  auto failed = [](const Error& e) -> Result<void> {
    Log().critical("{}", e.ToString());
    return std::unexpected(e);
  };
  auto db = StateDb::Open(config_.state_dir);
  if (!db) return failed(db.error());
  db_.emplace(std::move(*db));
  if (auto r = files::MakeDirs(notify_dir, 0755); !r) return failed(r.error());
  BuildSupervisor(notify_dir);
  BuildUpdates();
  if (config_.controller) client_.emplace(config_, std::string(BuildVersion()));
  identity_ = LoadCheckinState(*db_);
  if (auto r = BindNotifySockets(); !r) return r;
  if (auto r = sup_->Load(); !r) return failed(r.error());
  if (auto r = updates_->Load(); !r) return failed(r.error());
  engine_ = &*updates_;
  return {};
}

void Daemon::BuildSupervisor(const std::string& notify_dir) {
  auto probe = [this](const std::string& name, const std::string& url, std::uint64_t gen) {
    // The answer runs on the loop thread, like every other event.
    prober_.Probe(url, [this, name, gen](bool ok) { sup_->ProbeResult(name, gen, ok); });
  };
  Supervisor::Deps deps{clock_, launcher_, *db_, [this] { return Jitter(); }, OomKillCount, probe};
  deps.is_our_child = IsOurChildGroupLeader;
  deps.stop_orphan = [](pid_t pid, const std::string& prefix, Duration timeout) {
    if (StopOrphanGroup(pid, prefix,
                        std::chrono::duration_cast<std::chrono::milliseconds>(timeout))) {
      Log().info("stopped pid={} left running by the previous updater", pid);
    }
  };
  deps.on_exit = [this](const std::string& name, const ExitInfo& exit, bool crash_loop) {
    if (engine_ != nullptr) engine_->OnExit(name, exit, crash_loop);
  };
  deps.on_ready = [this](const std::string& name) {
    if (engine_ != nullptr) engine_->OnReady(name);
  };
  deps.on_removed = [this](const std::string& name) { notify_.erase(name); };
  sup_.emplace(config_, notify_dir, deps);
}

FetchOptions Daemon::DownloadOptions() {
  FetchOptions options = config_.controller ? FetchOptionsFor(*config_.controller) : FetchOptions{};
  options.cancelled = [this] { return cancel_downloads_.load(); };
  return options;
}

void Daemon::BuildUpdates() {
  fetch_options_ = DownloadOptions();
  auto fetch = [this](FetchRequest request, Updates::FetchDone done) {
    downloads_.Post([this, request = std::move(request), done = std::move(done)] {
      if (!fetcher_) fetcher_.emplace(state_dir_, fetch_options_);
      auto r = fetcher_->FetchAndInstall(request);
      loop_.Post([done, r = std::move(r)] { done(r); });
    });
  };
  auto selftest = [this](std::string binary, std::string version,
                         std::function<void(Result<void>)> done) {
    downloads_.Post(
        [this, binary = std::move(binary), version = std::move(version), done = std::move(done)] {
          auto r = Selftest(binary, version, config_path_);
          loop_.Post([done, r] { done(r); });
        });
  };
  updates_.emplace(config_, Updates::Deps{clock_, *db_, *sup_, fetch, selftest,
                                          [this] { reexec_ = true; }, [this] { CheckNow(); }});
}

Result<void> Daemon::BindNotifySockets() {
  for (const auto& name : sup_->Names()) {
    if (auto r = BindNotifySocket(name); !r) return r;
  }
  return {};
}

Result<void> Daemon::BindNotifySocket(const std::string& name) {
  notify_.erase(name);  // first: a socket going away unlinks its path
  const uid_t uid = sup_->UnitUid(name);
  auto s = NotifySocket::Bind(sup_->NotifyPath(name),
                              uid != ::getuid() ? std::optional<uid_t>(uid) : std::nullopt);
  if (!s) {
    Log().critical("component={} {}", name, s.error().ToString());
    return std::unexpected(s.error());
  }
  notify_.emplace(name, std::move(*s));
  return {};
}

void Daemon::Start() {
  sup_->StartAll();
  updates_->Resume();
  if (checkin_) checkin_->CheckNow();  // the first check-in right away
  (void)self_.Ready();
  (void)self_.Status("supervising " + std::to_string(sup_->Names().size()) + " component(s)");
  Log().info("updater {} running, {} component(s)", BuildVersion(), sup_->Names().size());
  // This version started properly: the launcher gives it fresh chances from now on.
  std::error_code exe_ec;
  if (auto exe = fs::read_symlink("/proc/self/exe", exe_ec); !exe_ec) {
    if (auto r = MarkUpdaterStarted(config_.state_dir, exe); !r) {
      Log().warn("launcher: {}", r.error().ToString());
    }
  }
  self_watchdog_ = self_.watchdog();
  next_self_ping_ = clock_.Monotonic();
}

void Daemon::AddToLoop(Signals& signals) {
  loop_.OnReadable(signals.fd(), [this, &signals] {
    for (const auto& s : signals.Take()) OnSignal(s);
  });
  loop_.WakeOn([this] {
    std::vector<int> fds;
    for (const auto& [name, s] : notify_) fds.push_back(s.fd());
    for (const int fd : FollowPids()) fds.push_back(fd);
    return fds;
  });
  // Notify datagrams before exits: a READY=1 sent just before the child died was sent while it
  // lived, and must count.
  loop_.EveryTurn([this] { ReadNotifySockets(); });
  // Every turn reaps: cheap, and nothing is missed whichever descriptor woke the loop.
  loop_.EveryTurn([this] {
    for (const auto& r : ReapExited()) {
      if (!sup_->OnExit(r.pid, r.status)) {
        Log().debug("reaped orphaned process pid={} status={}", r.pid, r.status.Describe());
      }
    }
  });
  loop_.RunPostedTasks();
  loop_.WakeBy([this] { return sup_->NextDeadline(); });
  loop_.EveryTurn([this] { sup_->Tick(); });
  loop_.WakeBy([this] { return updates_->NextDeadline(); });
  loop_.EveryTurn([this] { updates_->Poll(); });
  loop_.WakeBy([this] { return checkin_ ? checkin_->NextDeadline() : std::nullopt; });
  loop_.EveryTurn([this] {
    if (checkin_ && checkin_->StartIfDue()) StartCheckin();
  });
  loop_.WakeBy([this] { return self_watchdog_ ? std::optional(next_self_ping_) : std::nullopt; });
  loop_.EveryTurn([this] {
    if (self_watchdog_ && clock_.Monotonic() >= next_self_ping_) {
      (void)self_.Watchdog();
      next_self_ping_ = clock_.Monotonic() + *self_watchdog_ / 2;
    }
  });
}

void Daemon::OnSignal(const DaemonSignal& signal) {
  if (signal.kind == DaemonSignal::Kind::reload) {
    (void)Reload();  // logs what it did or why not
    return;
  }
  if (!stopping_) {
    Log().info("received {}; stopping", signal.name);
    (void)self_.Stopping();
  }
  stopping_ = true;
  if (checkin_) checkin_->Stop();
  sup_->Shutdown();
}

// The file is read and checked as `check-config` does, and compared with the live
// configuration (reload_plan.hpp); a bad file, a setting only a restart can change, or a change
// to a component whose update is under way refuses the whole reload, so it never half-applies.
Result<std::string> Daemon::Reload() {
  auto refuse = [&](const Error& e) -> Result<std::string> {
    Log().error("configuration reload refused: {}; the running configuration is kept", e.message);
    return std::unexpected(e);
  };
  if (stopping_ || reexec_) {
    return refuse(Error{ErrorCode::unavailable, "the updater is stopping; nothing reloaded"});
  }
  auto next = LoadConfig(config_.path);
  if (!next) return refuse(next.error());
  auto plan = PlanReload(config_, *next);
  if (!plan) return refuse(plan.error());
  std::vector<std::string> touched = plan->removed;
  touched.insert(touched.end(), plan->restarted.begin(), plan->restarted.end());
  if (plan->self_update_changed) touched.emplace_back(kUpdaterComponent);
  for (const auto& name : touched) {
    if (updates_->Busy(name)) {
      return refuse(Error{ErrorCode::unavailable,
                          "component " + name +
                              " is being updated and its configuration changes; reload again "
                              "once its update has ended (`steward-updater status` shows it)"});
    }
  }
  ApplyReload(*next, *plan);
  std::string summary = config_.path + ": reloaded";
  auto say = [&](std::string_view what, const std::vector<std::string>& names) {
    if (names.empty()) return;
    summary += std::string("; ") + std::string(what) + " ";
    for (std::size_t i = 0; i < names.size(); ++i) summary += (i > 0 ? ", " : "") + names[i];
  };
  say("added", plan->added);
  say("removed", plan->removed);
  say("restarted", plan->restarted);
  say("started or stopped", plan->desired);
  say("retuned", plan->retuned);
  say("unchanged", plan->unchanged);
  if (plan->controller_changed) summary += "; controller settings changed";
  if (plan->self_update_changed) summary += "; self-update settings changed";
  if (plan->logging_changed) summary += "; log level " + config_.log_level;
  Log().info("{}", summary);
  return summary;
}

// Removed components stop first; their notify sockets close once they are forgotten
// (Supervisor::Deps::on_removed). New ones get their socket before they start.
void Daemon::ApplyReload(const Config& next, const ReloadPlan& plan) {
  config_.components = next.components;
  config_.self_update = next.self_update;
  config_.log_level = next.log_level;
  config_.controller = next.controller;
  for (const auto& name : plan.removed) sup_->Remove(name);
  for (const auto& c : config_.components) {
    const auto is = [&](const std::vector<std::string>& names) {
      return std::ranges::find(names, c.name) != names.end();
    };
    if (is(plan.restarted) || is(plan.desired) || is(plan.retuned)) {
      const uid_t uid = sup_->UnitUid(c.name);
      sup_->Reconfigure(c, is(plan.restarted));
      // The socket belongs to the component's user.
      if (sup_->UnitUid(c.name) != uid) (void)BindNotifySocket(c.name);
    } else if (is(plan.added)) {
      if (auto r = sup_->Add(c); !r) {
        Log().error("component={} not added: {}", c.name, r.error().ToString());
        continue;
      }
      if (BindNotifySocket(c.name)) sup_->Boot(c.name);
    }
  }
  updates_->Reconfigured();
  if (plan.controller_changed) ReloadController();
  if (plan.logging_changed) {
    if (auto level = log::ParseLevel(config_.log_level)) log::SetLevel(*level);
  }
}

// The check-in client and the downloads take the new settings between two of their requests,
// on their own threads; a check-in follows at once, with the new seeds.
void Daemon::ReloadController() {
  checkin_->SetInterval(config_.controller->checkin_interval);
  checkins_.Post(
      [this, config = config_] { client_.emplace(config, std::string(BuildVersion())); });
  downloads_.Post([this, options = DownloadOptions()] {
    fetch_options_ = options;
    fetcher_.reset();
  });
  checkin_->CheckNow();
}

// Every socket is drained on every turn (they are non-blocking), at most 64 datagrams each so
// one chatty component cannot hold up the loop.
void Daemon::ReadNotifySockets() {
  auto& log = log::Get("supervisor");
  for (auto& [name, sock] : notify_) {
    for (int k = 0; k < 64; ++k) {
      auto d = sock.Receive();
      if (!d) {
        log.warn("component={} {}", name, d.error().message);
        continue;
      }
      if (!*d) break;
      const pid_t main_pid = sup_->MainPid(name);
      if (!SenderIsChild(**d, main_pid, sup_->UnitUid(name))) {
        log.warn(
            "component={} notify message from pid={} uid={} ignored: not the component's "
            "process (pid={}) or its process group",
            name, (*d)->pid, (*d)->uid, main_pid);
        continue;
      }
      auto m = ParseNotify((*d)->text);
      if (!m) {
        log.warn("component={} {}", name, m.error().message);
        continue;
      }
      sup_->OnNotify(name, *m);
    }
  }
}

// pidfds follow the set of supervised pids (a child's exit wakes the loop through its pidfd);
// SIGCHLD covers kernels without them.
std::vector<int> Daemon::FollowPids() {
  const auto pids = sup_->Pids();
  std::erase_if(pidfds_,
                [&](const auto& p) { return std::ranges::find(pids, p.first) == pids.end(); });
  std::vector<int> fds;
  for (const pid_t pid : pids) {
    if (!pidfds_.contains(pid)) pidfds_.emplace(pid, files::UniqueFd(OpenPidfd(pid)));
    if (const auto& fd = pidfds_.at(pid)) fds.push_back(fd.Get());
  }
  return fds;
}

std::string Daemon::Status() {
  std::map<std::string, TxnView> txns;
  std::map<std::string, std::string> waiting;
  for (const auto& name : sup_->Names()) {
    if (auto t = updates_->Last(name)) txns.emplace(name, std::move(*t));
    if (auto w = updates_->Waiting(name); !w.empty()) waiting.emplace(name, std::move(w));
  }
  if (auto mine = updates_->Last(kUpdaterComponent)) {
    txns.emplace(std::string(kUpdaterComponent), std::move(*mine));
  }
  return StatusJson(sup_->Status(), "running", txns,
                    checkin_ ? std::optional(checkin_->facts()) : std::nullopt, waiting);
}

void Daemon::StartCheckin() {
  checkins_.Post(
      [this, st = identity_, rep = ComponentReports(config_, *sup_, *updates_)]() mutable {
        auto answer = client_->CheckIn(st, rep);
        loop_.Post([this, st = std::move(st), answer = std::move(answer)]() mutable {
          FinishCheckin(std::move(st), std::move(answer));
        });
      });
}

void Daemon::FinishCheckin(CheckinState st, Result<CheckinAnswer> answer) {
  if (!(st == identity_)) {
    identity_ = std::move(st);
    if (auto r = SaveCheckinState(*db_, identity_); !r) {
      Log().error("saving the node identity: {}", r.error().ToString());
    }
  }
  if (!answer) {
    checkin_->Finished(answer);
    Log().warn("check-in: {}", checkin_->facts().last_error);
    return;
  }
  ApplyFlags(answer->flags_json);
  for (const auto& root : answer->roots) updates_->OfferRoot(root);
  for (const auto& release : answer->releases) {
    const auto w = std::find_if(answer->windows.begin(), answer->windows.end(),
                                [&](const auto& x) { return x.component == release.component; });
    auto r = updates_->Offer(release, w == answer->windows.end() ? nullptr : &*w);
    if (!r) {
      Log().debug("component={} offer: {}", release.component, r.error().ToString());
    } else {
      Log().debug("component={} offer: {}", release.component, *r);
    }
  }
  // Last: a transaction these offers ended asked for a check-in now, and the answer's
  // schedule replaces that (the next check-in reports it), as it always has.
  checkin_->Finished(answer);
}

// The controller's feature flags go to <state_dir>/flags.json; components that asked for it
// get SIGHUP when they change.
void Daemon::ApplyFlags(const std::string& flags) {
  const std::string path = (fs::path(config_.state_dir) / "flags.json").string();
  auto old = files::ReadFile(path, 1 << 20);
  if (old && *old == flags + "\n") return;
  if (auto r = files::AtomicWrite(path, flags + "\n", 0644); !r) {
    Log().error("feature flags: {}", r.error().ToString());
    return;
  }
  Log().info("feature flags changed: {}", flags);
  for (const auto& c : config_.components) {
    if (c.reload_on_flags) sup_->Signal(c.name, ProcessSignal::reload);
  }
}

}  // namespace

DaemonExit RunDaemon(const Config& config, Clock& clock) {
  // First, before any thread exists: every thread inherits the blocked signals.
  auto signals = CatchDaemonSignals();
  auto poller = MakePoller();
  if (!signals || !poller) {
    Log().critical("{}", (!signals ? signals.error() : poller.error()).message);
    return {exit_code::kSoftware};
  }
  const Notifier self = Notifier::FromEnvironment();
  if (auto r = BecomeSubreaper(); !r)
    Log().warn("{}; orphaned grandchildren are not reaped here", r.error().message);

  // 1. The local API, before anything else is loaded: it answers "recovering" meanwhile.
  const fs::path socket_dir = fs::path(config.socket).parent_path();
  if (auto r = files::MakeDirs(socket_dir, 0755); !r) {
    Log().critical("{}", r.error().ToString());
    return {ExitCodeFor(r.error().code)};
  }
  EventLoop loop(clock, std::move(*poller));
  Daemon daemon(config, clock, loop, self);
  LocalApi api(
      config.path, [&loop](std::function<void()> task) { loop.Post(std::move(task)); }, daemon);
  auto server = ListenLocalApi(config.socket, api.Routes());
  if (!server) {
    Log().critical("local API: {}", server.error().ToString());
    return {ExitCodeFor(server.error().code)};
  }
  (*server)->Start();
  Log().info("local API listening on {}", config.socket);

  // 2. State, notify sockets, supervisor, updates; then the components start.
  if (auto r = daemon.Load((socket_dir / "notify").string()); !r) {
    (*server)->Stop(1s);
    return {ExitCodeFor(r.error().code)};
  }
  api.SetServing(true);
  daemon.Start();

  // 3. The loop, until stopped or asked to re-execute.
  daemon.AddToLoop(**signals);
  if (auto r = loop.Run([&] { return daemon.Done(); }); !r) {
    Log().critical("{}", r.error().message);
  }
  api.SetServing(false);
  daemon.CancelDownloads();
  (*server)->Stop(1s);
  if (daemon.reexec()) {
    Log().info("updater {} re-executing; components keep running", BuildVersion());
    return {exit_code::kOk, true};
  }
  Log().info("updater stopped");
  return {exit_code::kOk};
}

}  // namespace steward::updater
