#include "updater/daemon.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "common/files.hpp"
#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "common/log.hpp"
#include "common/rfc3339.hpp"
#include "common/sd_notify.hpp"
#include "common/version.hpp"
#include "updater/checkin.hpp"
#include "updater/fetch.hpp"
#include "updater/launcher.hpp"
#include "updater/notify_socket.hpp"
#include "updater/process.hpp"
#include "updater/state_db.hpp"
#include "updater/supervisor.hpp"
#include "updater/updates.hpp"

namespace steward::updater {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

spdlog::logger& Log() { return log::Get("main"); }

// Work posted to the loop thread from other threads (API handlers, the prober).
class TaskQueue {
 public:
  TaskQueue() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  int fd() const { return fd_.Get(); }
  void Post(std::function<void()> task) {
    {
      std::lock_guard lock(mu_);
      tasks_.push_back(std::move(task));
    }
    const std::uint64_t one = 1;
    (void)!::write(fd_.Get(), &one, sizeof(one));
  }
  void RunAll() {
    std::uint64_t count = 0;
    (void)!::read(fd_.Get(), &count, sizeof(count));
    std::deque<std::function<void()>> tasks;
    {
      std::lock_guard lock(mu_);
      tasks.swap(tasks_);
    }
    for (auto& t : tasks) t();
  }

 private:
  files::UniqueFd fd_;
  std::mutex mu_;
  std::deque<std::function<void()>> tasks_;
};

// Runs jobs one after the other on its own thread (downloads, check-ins, probes), so the loop never
// blocks.
class Worker {
 public:
  Worker() : thread_([this] { Run(); }) {}
  ~Worker() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Post(std::function<void()> job) {
    {
      std::lock_guard lock(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_all();
  }

 private:
  void Run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return done_ || !jobs_.empty(); });
        if (done_) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool done_ = false;
  std::thread thread_;
};

// HTTP readiness probes, one at a time on their own thread so the loop never blocks.
class Prober {
 public:
  explicit Prober(TaskQueue& loop) : loop_(loop) {}
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
  TaskQueue& loop_;
  std::optional<http::Client> client_;  // used on the worker's thread only
  Worker worker_;                       // declared last: joined before the client goes
};

json ExitJson(const std::optional<ExitInfo>& e) {
  if (!e) return nullptr;
  return json{{"kind", ExitKindName(e->kind)},
              {"code", e->code ? json(*e->code) : json(nullptr)},
              {"signal", e->signal ? json(*e->signal) : json(nullptr)},
              {"core_dumped", e->core_dumped},
              {"oom", e->oom},
              {"at", FormatRfc3339(e->at)}};
}

json OrNull(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

json UpdateJson(const TxnView& t) {
  auto seconds = [](Duration d) {
    return std::round(std::chrono::duration<double>(d).count() * 1000.0) / 1000.0;
  };
  return json{{"id", t.id},
              {"from", OrNull(t.from_version)},
              {"to", OrNull(t.to_version)},
              {"state", TxnStateName(t.state)},
              {"result", t.result ? json(UpdateResultName(*t.result)) : json(nullptr)},
              {"error_code", OrNull(t.error_code)},
              {"error", OrNull(t.error)},
              {"healthy_s", seconds(t.healthy)},
              {"grace_s", seconds(t.grace)}};
}

// An `apply` request: {"manifest": "<exact signed bytes>", "signatures": ["<.minisig text>"…]}.
Result<OfferedRelease> ParseApply(const std::string& component, const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("manifest") || !j["manifest"].is_string() ||
      !j.contains("signatures") || !j["signatures"].is_array()) {
    return Fail(ErrorCode::bad_request,
                "expected {\"manifest\": \"<signed bytes>\", \"signatures\": [\"<minisig>\"…]}");
  }
  OfferedRelease r{component, j["manifest"].get<std::string>(), {}};
  for (const auto& s : j["signatures"]) {
    if (!s.is_string()) return Fail(ErrorCode::bad_request, "signatures must be strings");
    r.signatures.push_back(s.get<std::string>());
  }
  return r;
}

// The check-in identity and learned controllers, as kept in the settings table.
CheckinState LoadCheckinState(StateDb& db) {
  CheckinState st;
  if (auto v = db.GetSetting("node_id"); v && *v) st.node_id = **v;
  if (auto v = db.GetSetting("node_token"); v && *v) st.node_token = **v;
  if (auto v = db.GetSetting("controllers"); v && *v) {
    const json list = json::parse(**v, nullptr, false);
    if (list.is_array()) {
      for (const auto& u : list) {
        if (u.is_string()) st.controllers.push_back(u.get<std::string>());
      }
    }
  }
  return st;
}

Result<void> SaveCheckinState(StateDb& db, const CheckinState& st) {
  StateDb::Batch batch(db);
  if (auto r = db.SetSetting("node_id", st.node_id); !r) return r;
  if (auto r = db.SetSetting("node_token", st.node_token); !r) return r;
  if (auto r = db.SetSetting("controllers", json(st.controllers).dump()); !r) return r;
  return batch.Commit();
}

// ±20 % of `interval`, from a uniform value in [-1, 1].
Duration Jittered(Duration interval, double uniform) {
  return std::chrono::duration_cast<Duration>(interval * (1.0 + 0.2 * uniform));
}

}  // namespace

std::string StatusJson(const std::vector<UnitStatus>& units, std::string_view state,
                       const std::map<std::string, TxnView>& updates,
                       const std::optional<CheckinFacts>& checkin) {
  json list = json::array();
  for (const auto& u : units) {
    auto update = updates.find(u.name);
    list.push_back(
        json{{"name", u.name},
             {"state", UnitStateName(u.state)},
             {"pid", u.pid > 0 ? json(u.pid) : json(nullptr)},
             {"desired_state", u.desired},
             {"running_version", OrNull(u.running_version)},
             {"installed_version", OrNull(u.installed_version)},
             {"previous_version", OrNull(u.previous_version)},
             {"last_exit", ExitJson(u.last_exit)},
             {"restarts", u.restarts},
             {"consecutive_failures", u.consecutive_failures},
             {"crash_loop", u.crash_loop},
             {"status", u.status_text},
             {"last_error", OrNull(u.last_error)},
             {"update", update != updates.end() ? UpdateJson(update->second) : json(nullptr)}});
  }
  json updater{{"version", BuildVersion()}, {"state", state}};
  if (auto self = updates.find(std::string(kUpdaterComponent)); self != updates.end()) {
    updater["update"] = UpdateJson(self->second);
  }
  json doc{{"updater", updater}, {"components", list}};
  if (checkin) {
    doc["checkin"] = json{{"count", checkin->count},
                          {"last_at", OrNull(checkin->last_at)},
                          {"last_error", OrNull(checkin->last_error)},
                          {"controller", OrNull(checkin->controller)}};
  }
  return doc.dump();
}

DaemonExit RunDaemon(const Config& config, Clock& clock) {
  // Signals arrive through a signalfd in the loop; blocked before any thread exists so every
  // thread inherits the mask. Children get a clean mask back (process.cpp).
  sigset_t mask;
  sigemptyset(&mask);
  for (const int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&mask, sig);
  ::pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  files::UniqueFd sigfd(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd) {
    Log().critical("signalfd: {}", ErrnoMessage("signalfd", errno));
    return {exit_code::kSoftware};
  }
  const Notifier self = Notifier::FromEnvironment();
  if (auto r = BecomeSubreaper(); !r)
    Log().warn("{}; orphaned grandchildren are not reaped here", r.error().message);

  // 1. The local API, before anything else is loaded.
  TaskQueue loop;
  std::atomic<bool> serving{false};
  const fs::path socket_dir = fs::path(config.socket).parent_path();
  if (auto r = files::MakeDirs(socket_dir, 0755); !r) {
    Log().critical("{}", r.error().ToString());
    return {ExitCodeFor(r.error().code)};
  }
  // Runs `work` on the loop thread and returns its answer; 503 when the loop does not answer.
  auto on_loop = [&](std::function<http::Response()> work) -> http::Response {
    if (!serving.load()) {
      return http::Response::Error(503, ErrorCode::unavailable,
                                   "the updater is recovering its state; try again shortly");
    }
    auto promise = std::make_shared<std::promise<http::Response>>();
    auto future = promise->get_future();
    loop.Post([promise, work = std::move(work)] { promise->set_value(work()); });
    if (future.wait_for(10s) != std::future_status::ready) {
      return http::Response::Error(503, ErrorCode::unavailable,
                                   "the updater did not answer within 10s; try again");
    }
    return future.get();
  };
  Supervisor* sup_ptr = nullptr;
  Updates* updates_ptr = nullptr;
  bool reexec = false;  // loop thread only
  // Check-ins (loop thread only): when the next is due, whether one is out, how the last went.
  struct {
    std::optional<MonoTime> due;
    bool in_flight = false;
    CheckinFacts facts;
  } checkin;
  auto status_now = [&] {
    std::map<std::string, TxnView> txns;
    for (const auto& name : sup_ptr->Names()) {
      if (auto t = updates_ptr->Last(name)) txns.emplace(name, std::move(*t));
    }
    if (auto mine = updates_ptr->Last(kUpdaterComponent)) {
      txns.emplace(std::string(kUpdaterComponent), std::move(*mine));
    }
    return StatusJson(sup_ptr->Status(), "running", txns,
                      config.controller ? std::optional(checkin.facts) : std::nullopt);
  };
  http::Router router;
  router.Add("GET", "/v1/status", [&](const http::Request&) {
    if (!serving.load()) return http::Response::Json(200, StatusJson({}, "recovering"));
    return on_loop([&] { return http::Response::Json(200, status_now()); });
  });
  router.Add("POST", "/v1/components/{name}/apply", [&](const http::Request& req) {
    auto offer = ParseApply(req.params.at("name"), req.body);
    if (!offer) return http::Response::FromError(offer.error());
    return on_loop([&, offer = std::move(*offer)] {
      auto r = updates_ptr->Offer(offer);
      if (!r) {
        if (r.error().code == ErrorCode::unknown_component) {
          return http::Response::Error(404, r.error().code, r.error().message);
        }
        return http::Response::Error(422, r.error().code, r.error().message);
      }
      return http::Response::Json(200,
                                  json{{"component", offer.component}, {"outcome", *r}}.dump());
    });
  });
  router.Add("POST", "/v1/components/{name}/{command}", [&](const http::Request& req) {
    const std::string name = req.params.at("name");
    const std::string command = req.params.at("command");
    return on_loop([&, name, command] {
      if (auto r = sup_ptr->Command(name, command); !r) {
        if (r.error().code == ErrorCode::unknown_component) {
          return http::Response::Error(404, r.error().code, r.error().message);
        }
        return http::Response::FromError(r.error());
      }
      return http::Response::Json(
          200, json{{"component", name}, {"command", command}, {"accepted", true}}.dump());
    });
  });
  router.Add("DELETE", "/v1/components/{name}/bad/{version}", [&](const http::Request& req) {
    const std::string name = req.params.at("name");
    const std::string version = req.params.at("version");
    return on_loop([&, name, version] {
      if (auto r = updates_ptr->ClearBad(name, version); !r) {
        return http::Response::Error(r.error().code == ErrorCode::not_found ? 404 : 500,
                                     r.error().code, r.error().message);
      }
      return http::Response::Json(
          200, json{{"component", name}, {"version", version}, {"cleared", true}}.dump());
    });
  });
  router.Add("POST", "/v1/check", [&](const http::Request&) {
    return on_loop([&] {
      if (!config.controller) {
        return http::Response::Error(
            409, ErrorCode::unsupported,
            "no [controller] in " + config.path + ": this updater only supervises");
      }
      checkin.due = clock.Monotonic();
      return http::Response::Json(200, json{{"check", "started"}}.dump());
    });
  });
  router.Add("POST", "/v1/reexec", [&](const http::Request&) {
    return on_loop([&] {
      Log().info("re-exec requested through the local API");
      reexec = true;
      return http::Response::Json(200, json{{"reexec", true}}.dump());
    });
  });
  http::ServerOptions server_options;
  server_options.max_body = 1024 * 1024;  // an `apply` carries a manifest and its signatures
  server_options.server_name = "steward-updater";
  auto server = http::Server::ListenUnix(config.socket, std::move(router), server_options, 0660);
  if (!server) {
    Log().critical("local API: {}", server.error().ToString());
    return {ExitCodeFor(server.error().code)};
  }
  (*server)->Start();
  Log().info("local API listening on {}", config.socket);

  // 2. State, notify sockets, supervisor.
  auto db = StateDb::Open(config.state_dir);
  if (!db) {
    Log().critical("{}", db.error().ToString());
    (*server)->Stop(1s);
    return {ExitCodeFor(db.error().code)};
  }
  const std::string notify_dir = (socket_dir / "notify").string();
  if (auto r = files::MakeDirs(notify_dir, 0755); !r) {
    Log().critical("{}", r.error().ToString());
    (*server)->Stop(1s);
    return {ExitCodeFor(r.error().code)};
  }
  PosixLauncher launcher;
  Prober prober(loop);
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  auto probe = [&](const std::string& name, const std::string& url, std::uint64_t gen) {
    // The answer runs on the loop thread, like every other event.
    prober.Probe(url, [&sup_ptr, name, gen](bool ok) { sup_ptr->ProbeResult(name, gen, ok); });
  };
  Updates* engine = nullptr;  // set below; the supervisor reports exits to it
  Supervisor::Deps deps{clock, launcher, *db, [&] { return uniform(rng); }, OomKillCount, probe};
  deps.is_our_child = IsOurChildGroupLeader;
  deps.stop_orphan = [](pid_t pid, const std::string& prefix, Duration timeout) {
    if (StopOrphanGroup(pid, prefix,
                        std::chrono::duration_cast<std::chrono::milliseconds>(timeout))) {
      Log().info("stopped pid={} left running by the previous updater", pid);
    }
  };
  deps.on_exit = [&engine](const std::string& name, const ExitInfo& exit, bool crash_loop) {
    if (engine != nullptr) engine->OnExit(name, exit, crash_loop);
  };
  deps.on_ready = [&engine](const std::string& name) {
    if (engine != nullptr) engine->OnReady(name);
  };
  Supervisor sup(config, notify_dir, deps);
  sup_ptr = &sup;

  // Downloads run on their own thread; the fetcher is made there at the first one. Stopping
  // the updater cancels a download in progress (it resumes at the next start).
  std::atomic<bool> cancel_downloads{false};
  FetchOptions fetch_options =
      config.controller ? FetchOptionsFor(*config.controller) : FetchOptions{};
  fetch_options.cancelled = [&cancel_downloads] { return cancel_downloads.load(); };
  std::optional<Fetcher> fetcher;
  Worker downloads;
  auto fetch = [&](FetchRequest request, Updates::FetchDone done) {
    downloads.Post([&, request = std::move(request), done = std::move(done)] {
      if (!fetcher) fetcher.emplace(config.state_dir, fetch_options);
      auto r = fetcher->FetchAndInstall(request);
      loop.Post([done, r = std::move(r)] { done(r); });
    });
  };
  // Self-update's qualification: the new binary's `selftest` must report the version the
  // manifest says, within 30 s.
  auto selftest = [&](std::string binary, std::string version,
                      std::function<void(Result<void>)> done) {
    downloads.Post(
        [&, binary = std::move(binary), version = std::move(version), done = std::move(done)] {
          Result<void> r;
          auto out = RunForOutput(binary, {"selftest", "--config", config.path}, 30s);
          const std::string want = "steward-updater " + version + " selftest ok";
          if (!out) {
            r = Fail(ErrorCode::selftest_failed, out.error().message);
          } else if (out->find(want) == std::string::npos) {
            r = Fail(ErrorCode::selftest_failed, binary + " selftest did not report '" + want +
                                                     "'; it said: " + out->substr(0, 500));
          }
          loop.Post([done, r] { done(r); });
        });
  };
  Updates updates(config, Updates::Deps{clock, *db, sup, fetch, selftest, [&] { reexec = true; },
                                        [&] { checkin.due = clock.Monotonic(); }});
  updates_ptr = &updates;

  // Check-ins run on their own thread (blocking HTTP with failover); reports are built and
  // answers applied here on the loop thread.
  std::optional<CheckinClient> client;
  if (config.controller) client.emplace(config, std::string(BuildVersion()));
  CheckinState identity = LoadCheckinState(*db);
  const std::string flags_path = (fs::path(config.state_dir) / "flags.json").string();
  Worker checkins;
  auto report = [&] {
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
      r.desired_state = u.desired;
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
  };
  // The controller's feature flags go to <state_dir>/flags.json; components that asked for it
  // get SIGHUP when they change.
  auto apply_flags = [&](const std::string& flags) {
    auto old = files::ReadFile(flags_path, 1 << 20);
    if (old && *old == flags + "\n") return;
    if (auto r = files::AtomicWrite(flags_path, flags + "\n", 0644); !r) {
      Log().error("feature flags: {}", r.error().ToString());
      return;
    }
    Log().info("feature flags changed: {}", flags);
    for (const auto& c : config.components) {
      if (c.reload_on_flags) sup.Signal(c.name, SIGHUP);
    }
  };
  auto finish_checkin = [&](CheckinState st, Result<CheckinAnswer> answer) {
    checkin.in_flight = false;
    Duration interval = config.controller->checkin_interval;
    if (!(st == identity)) {
      identity = std::move(st);
      if (auto r = SaveCheckinState(*db, identity); !r) {
        Log().error("saving the node identity: {}", r.error().ToString());
      }
    }
    checkin.facts.last_at = FormatRfc3339(clock.Now());
    if (!answer) {
      checkin.facts.last_error = answer.error().ToString();
      Log().warn("check-in: {}", checkin.facts.last_error);
    } else {
      ++checkin.facts.count;
      checkin.facts.last_error.clear();
      checkin.facts.controller = answer->controller;
      if (answer->interval) interval = *answer->interval;
      apply_flags(answer->flags_json);
      for (const auto& root : answer->roots) updates.OfferRoot(root);
      for (const auto& release : answer->releases) {
        auto r = updates.Offer(release);
        if (!r) {
          Log().debug("component={} offer: {}", release.component, r.error().ToString());
        } else {
          Log().debug("component={} offer: {}", release.component, *r);
        }
      }
    }
    checkin.due = clock.Monotonic() + Jittered(interval, uniform(rng));
  };
  auto start_checkin = [&] {
    checkin.in_flight = true;
    checkin.due.reset();
    checkins.Post([&, st = identity, rep = report()]() mutable {
      auto answer = client->CheckIn(st, rep);
      loop.Post([&finish_checkin, st = std::move(st), answer = std::move(answer)]() mutable {
        finish_checkin(std::move(st), std::move(answer));
      });
    });
  };
  std::map<std::string, NotifySocket> notify;
  for (const auto& name : sup.Names()) {
    const uid_t uid = sup.UnitUid(name);
    auto s = NotifySocket::Bind(sup.NotifyPath(name),
                                uid != ::getuid() ? std::optional<uid_t>(uid) : std::nullopt);
    if (!s) {
      Log().critical("component={} {}", name, s.error().ToString());
      (*server)->Stop(1s);
      return {ExitCodeFor(s.error().code)};
    }
    notify.emplace(name, std::move(*s));
  }
  if (auto r = sup.Load(); !r) {
    Log().critical("{}", r.error().ToString());
    (*server)->Stop(1s);
    return {ExitCodeFor(r.error().code)};
  }
  if (auto r = updates.Load(); !r) {
    Log().critical("{}", r.error().ToString());
    (*server)->Stop(1s);
    return {ExitCodeFor(r.error().code)};
  }
  engine = &updates;
  serving = true;
  sup.StartAll();
  updates.Resume();
  if (client) checkin.due = clock.Monotonic();  // the first check-in right away
  (void)self.Ready();
  (void)self.Status("supervising " + std::to_string(sup.Names().size()) + " component(s)");
  Log().info("updater {} running, {} component(s)", BuildVersion(), sup.Names().size());
  // This version started properly: the launcher gives it fresh chances from now on.
  std::error_code exe_ec;
  if (auto exe = std::filesystem::read_symlink("/proc/self/exe", exe_ec); !exe_ec) {
    if (auto r = MarkUpdaterStarted(config.state_dir, exe); !r) {
      Log().warn("launcher: {}", r.error().ToString());
    }
  }

  // 3. The loop.
  const std::optional<Duration> self_watchdog = self.watchdog();
  MonoTime next_self_ping = clock.Monotonic();
  std::map<pid_t, files::UniqueFd> pidfds;
  bool stopping = false;
  for (;;) {
    if (reexec && !stopping) break;  // asked for on this thread, e.g. while replaying
    // pidfds follow the set of supervised pids; SIGCHLD covers kernels without them.
    const auto pids = sup.Pids();
    for (auto it = pidfds.begin(); it != pidfds.end();) {
      it = std::find(pids.begin(), pids.end(), it->first) == pids.end() ? pidfds.erase(it)
                                                                        : std::next(it);
    }
    for (const pid_t pid : pids) {
      if (!pidfds.contains(pid)) pidfds.emplace(pid, files::UniqueFd(OpenPidfd(pid)));
    }
    std::vector<pollfd> fds;
    fds.push_back({sigfd.Get(), POLLIN, 0});
    fds.push_back({loop.fd(), POLLIN, 0});
    std::vector<std::string> notify_names;
    for (const auto& [name, s] : notify) {
      fds.push_back({s.fd(), POLLIN, 0});
      notify_names.push_back(name);
    }
    for (const auto& [pid, fd] : pidfds) {
      if (fd) fds.push_back({fd.Get(), POLLIN, 0});
    }
    std::optional<MonoTime> deadline = sup.NextDeadline();
    if (auto u = updates.NextDeadline(); u && (!deadline || *u < *deadline)) deadline = u;
    if (checkin.due && !stopping && (!deadline || *checkin.due < *deadline)) {
      deadline = checkin.due;
    }
    if (self_watchdog && (!deadline || next_self_ping < *deadline)) deadline = next_self_ping;
    int timeout_ms = -1;
    if (deadline) {
      const auto left = *deadline - clock.Monotonic();
      timeout_ms =
          left <= Duration::zero()
              ? 0
              : static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
    }
    const int n = ::poll(fds.data(), fds.size(), timeout_ms);
    if (n < 0 && errno != EINTR) {
      Log().critical("{}", ErrnoMessage("poll", errno));
      break;
    }
    if ((fds[0].revents & POLLIN) != 0) {
      signalfd_siginfo si{};
      while (::read(sigfd.Get(), &si, sizeof(si)) == static_cast<ssize_t>(sizeof(si))) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
          if (!stopping) {
            Log().info("received {}; stopping", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
            (void)self.Stopping();
          }
          stopping = true;
          sup.Shutdown();
        } else if (si.ssi_signo == SIGHUP) {
          Log().info("SIGHUP: configuration reload is not supported; restart the updater");
        }
      }
    }
    // Notify datagrams before exits: a READY=1 sent just before the child died was sent
    // while it lived, and must count. Every socket is drained on every wake-up (non-blocking).
    for (std::size_t i = 0; i < notify_names.size(); ++i) {
      const std::string& name = notify_names[i];
      auto& sock = notify.at(name);
      for (int k = 0; k < 64; ++k) {
        auto d = sock.Receive();
        if (!d) {
          log::Get("supervisor").warn("component={} {}", name, d.error().message);
          continue;
        }
        if (!*d) break;
        const pid_t main_pid = sup.MainPid(name);
        if (!SenderIsChild(**d, main_pid, sup.UnitUid(name))) {
          log::Get("supervisor")
              .warn(
                  "component={} notify message from pid={} uid={} ignored: not the "
                  "component's process (pid={}) or its process group",
                  name, (*d)->pid, (*d)->uid, main_pid);
          continue;
        }
        auto m = ParseNotify((*d)->text);
        if (!m) {
          log::Get("supervisor").warn("component={} {}", name, m.error().message);
          continue;
        }
        sup.OnNotify(name, *m);
      }
    }
    // Every wake-up reaps: cheap, and nothing is missed whichever fd woke us.
    for (const auto& r : ReapExited()) {
      if (!sup.OnExit(r.pid, r.status)) {
        Log().debug("reaped orphaned process pid={} status={}", r.pid, r.status);
      }
    }
    if ((fds[1].revents & POLLIN) != 0) loop.RunAll();
    sup.Tick();
    updates.Poll();
    if (client && checkin.due && !checkin.in_flight && !stopping &&
        clock.Monotonic() >= *checkin.due) {
      start_checkin();
    }
    if (self_watchdog && clock.Monotonic() >= next_self_ping) {
      (void)self.Watchdog();
      next_self_ping = clock.Monotonic() + *self_watchdog / 2;
    }
    if (stopping && sup.Idle()) break;
  }
  serving = false;
  cancel_downloads = true;
  (*server)->Stop(1s);
  if (reexec) {
    Log().info("updater {} re-executing; components keep running", BuildVersion());
    return {exit_code::kOk, true};
  }
  Log().info("updater stopped");
  return {exit_code::kOk};
}

}  // namespace steward::updater
