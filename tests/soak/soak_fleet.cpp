#include "tests/soak/soak_fleet.hpp"

#include <signal.h>

#include <cstdio>
#include <mutex>

namespace steward::test::soak {

namespace {

const Clock::time_point kBegin = Clock::now();

// A rollout halts once 3 nodes reported and half of them rolled back: a release that fails
// everywhere halts quickly, one agent killed by the chaos during its gate does not halt a
// good one.
constexpr const char* kControllerSettings =
    "checkin_interval = \"1s\"\n[rollout]\nhalt_min_attempts = 3\nhalt_rollback_rate = 0.5\n";

// The size of the small disk: three agent versions and two updater versions (the debug
// binaries are ~90 and ~110 MB) with room to spare.
constexpr std::uint64_t kSmallDiskMegabytes = 768;

std::string ListenLine(const std::string& text) {
  const auto at = text.find("listen = ");
  return text.substr(at, text.find('\n', at) - at);
}

std::string ReadText(const std::string& path) {
  auto text = files::ReadFile(path, 1 << 20);
  return text ? *text : "";
}

// The updater's config: the e2e host's settings, with a longer health gate (a release that
// fails "after a while" must fail inside it) and self-update on.
std::string UpdaterConfig(const Host& h, const std::vector<std::string>& urls,
                          const std::string& root) {
  std::string list;
  for (const auto& u : urls) list += (list.empty() ? "" : ", ") + json(u).dump();
  return "[controller]\nurls = [" + list + "]\nenroll_token_file = \"" +
         (h.dir / "enroll-token").string() + "\"\ncheckin_interval = \"1s\"\n[trust]\nroot = \"" +
         root + "\"\n[self_update]\ngrace = \"3s\"\n[[component]]\nname = \"agent\"\n" +
         "binary = \"steward-agent\"\nargs = " +
         Args({"run", "--config", (h.dir / "agent.toml").string()}) +
         "\nreadiness = \"notify\"\ngrace = \"6s\"\nstart_timeout = \"5s\"\n"
         "stop_timeout = \"5s\"\nrestart_delay = \"100ms\"\nrestart_delay_max = \"200ms\"\n"
         "crash_loop_failures = 2\n";
}

}  // namespace

void Say(const std::string& line) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  const double s = std::chrono::duration<double>(Clock::now() - kBegin).count();
  std::printf("[%8.1fs] %s\n", s, line.c_str());
  std::fflush(stdout);
}

std::optional<Reply> AdminAt(const std::string& base, const std::string& method,
                             const std::string& path, const json& body) {
  http::ClientOptions options;
  options.timeout = std::chrono::seconds(15);
  http::Client client(options);
  http::RequestSpec spec;
  spec.method = method;
  spec.url = base + "/v1/admin/" + path;
  spec.bearer_token = kAdminToken;
  if (!body.is_null()) {
    spec.body = body.dump();
    spec.headers.push_back("Content-Type: application/json");
  }
  auto r = client.Perform(spec);
  if (!r) return std::nullopt;
  return Reply{r->status, json::parse(r->body, nullptr, false), r->body};
}

void SoakHost::Shutdown() {
  if (!h) return;
  if (started && h->updater.proc().running()) h->updater.Stop(std::chrono::seconds(15));
  // Components of an updater killed by the chaos may have outlived it.
  for (const pid_t pid : ProcessesRunningFrom(h->dir.path().string() + "/")) ::kill(pid, SIGKILL);
  disk.reset();
  started = false;
}

SoakFleet::~SoakFleet() {
  for (auto& c : controllers) {
    if (c.c && c.c->proc) c.c->proc->Signal(SIGCONT);
  }
  for (auto& h : hosts) h->Shutdown();
  hosts.clear();
  proxy.reset();
}

bool SoakFleet::Start() {
  // b's nodes-facing address is the proxy's; its own port is for the operator.
  const std::uint16_t proxy_port = e2e::FreePort();
  for (const char* name : {"a", "b"}) {
    SoakController c;
    c.name = name;
    c.port = e2e::FreePort();
    c.direct = "http://127.0.0.1:" + std::to_string(c.port);
    c.c = std::make_unique<Controller>(kControllerSettings);
    controllers.push_back(std::move(c));
  }
  // Both use a's store, blob dir, root and tokens.
  std::string shared = ReadText(A().c->config());
  const std::string a_listen = ListenLine(shared);
  shared.replace(shared.find(a_listen), a_listen.size(),
                 "listen = \"127.0.0.1:" + std::to_string(A().port) + "\"");
  A().c->dir.Write("controller.toml", shared);
  std::string b_config = shared;
  b_config.replace(b_config.find(ListenLine(b_config)), ListenLine(b_config).size(),
                   "listen = \"127.0.0.1:" + std::to_string(B().port) +
                       "\"\npublic_url = \"http://127.0.0.1:" + std::to_string(proxy_port) + "\"");
  B().c->dir.Write("controller.toml", b_config);
  proxy = std::make_unique<SlowProxy>(proxy_port, B().port);
  for (auto& c : controllers) c.c->Start();
  if (::testing::Test::HasFatalFailure()) return false;
  Say("controller a " + A().c->url + ", controller b " + B().c->url + " (proxy to " + B().direct +
      "), one store");

  if (!Publish("agent", "1.0.0") || !SetRollout("agent", "1.0.0", 100)) return false;
  if (!SetFlag("soak.step", 0)) return false;
  for (int i = 0; i < host_count_; ++i) {
    auto host = std::make_unique<SoakHost>();
    host->index = i;
    host->h = std::make_unique<Host>();
    if (i == 0) {
      try {
        host->disk.emplace(host->State(), kSmallDiskMegabytes);
      } catch (const std::exception& e) {
        Say(std::string("no small disk, the full-disk fault falls back to failpoints: ") +
            e.what());
      }
    }
    hosts.push_back(std::move(host));
  }
  for (auto& host : hosts) {
    StartHost(*host);
    if (::testing::Test::HasFatalFailure()) return false;
  }
  for (auto& host : hosts) {
    if (!host->h->WaitRunning("1.0.0", std::chrono::seconds(120))) {
      Say(host->Name() + " did not come up on 1.0.0:\n" + host->h->Logs());
      return false;
    }
  }
  // Node ids by machine id, as controller a knows them (the host's own state.db is held
  // exclusively by its updater).
  std::map<std::string, std::string> by_machine;
  if (auto nodes = AdminAt(A().direct, "GET", "nodes")) {
    for (const auto& n : nodes->body["nodes"]) {
      const std::string id = n["id"];
      if (auto detail = AdminAt(A().direct, "GET", "nodes/" + id))
        by_machine[detail->body.value("machine_id", "")] = id;
    }
  }
  for (auto& host : hosts) {
    host->node_id = by_machine[host->h->MachineId()];
    if (host->node_id.empty()) {
      Say(host->Name() + " has no node id");
      return false;
    }
  }
  Say(std::to_string(hosts.size()) + " hosts enrolled and running agent 1.0.0");
  return true;
}

void SoakFleet::StartHost(SoakHost& host) {
  Host& h = *host.h;
  h.WriteAgentConfig(agent_failure_);
  h.dir.Write("enroll-token", std::string(kEnrollToken) + "\n");
  h.updater.Start(UpdaterConfig(h, {A().c->url, B().c->url}, (A().c->dir / "root.json").string()));
  host.started = true;
}

bool SoakFleet::Publish(const std::string& component, const std::string& version) {
  // The artifact is listed at b too (through its proxy), and publishing checks that every
  // URL answers: both controllers must serve.
  if (!A().Serving() || !B().Serving()) return false;
  auto& versions = published[component];
  const int sequence = static_cast<int>(versions.size()) + 1;
  // The same bytes on every try: a try whose answer was lost may have been stored, and the
  // same manifest again is "already published", a different one a sequence conflict.
  auto& body = unpublished_[component + "/" + version];
  if (body.is_null()) {
    const auto blob = e2e::ReleaseBlob(*A().c, component, version);
    auto m = json::parse(Controller::Manifest(component, "stable", version, sequence, blob));
    m["artifacts"]["linux-x86_64"]["mirrors"] =
        json::array({B().c->url + "/v1/artifacts/" + blob["sha256"].get<std::string>()});
    const auto bytes = m.dump(2);
    body = json{{"manifest", bytes}, {"signatures", {Controller::Sign(A().c->release_key, bytes)}}};
  }
  auto r = AdminAt(A().direct, "POST", "releases", body);
  if (!r || (r->status != 201 && r->status != 200)) {
    Say("publishing " + component + " " + version +
        " failed, tried again later: " + (r ? r->raw : std::string("no answer")));
    return false;
  }
  versions[version] = sequence;
  Say("published " + component + " " + version + " (sequence " + std::to_string(sequence) + ")");
  ReloadOthers(A());
  return true;
}

bool SoakFleet::SetRollout(const std::string& component, const std::string& version, int percent) {
  if (!A().Serving()) return false;
  auto r = AdminAt(A().direct, "PUT", "rollouts/" + component + "/stable",
                   json{{"version", version}, {"percent", percent}, {"paused", false}});
  if (!r || r->status != 200) {
    Say("setting the rollout of " + component + " " + version +
        " failed, tried again later: " + (r ? r->raw : std::string("no answer")));
    return false;
  }
  rollouts[component] = version;
  Say("rollout " + component + " " + version + " at " + std::to_string(percent) + " %");
  ReloadOthers(A());
  return true;
}

bool SoakFleet::SetFlag(const std::string& name, const json& value) {
  if (!A().Serving()) return false;
  auto r =
      AdminAt(A().direct, "PUT", "flags", json{{"scope", "global"}, {"set", json{{name, value}}}});
  if (!r || r->status != 200) return false;
  flags[name] = value;
  ReloadOthers(A());
  return true;
}

void SoakFleet::ReloadOthers(const SoakController& via) {
  for (auto& c : controllers) {
    if (&c == &via || c.down) continue;  // a controller that is down reads the store at start
    if (c.stalled) {
      c.c->proc->Signal(SIGCONT);
      c.stalled = false;
    }
    c.c->Restart();
  }
}

void SoakFleet::SetAgentFailure(const std::string& keys) {
  agent_failure_ = keys;
  for (auto& host : hosts) host->h->WriteAgentConfig(keys);
}

void SoakFleet::Kill9(SoakController& c) {
  c.c->proc->Signal(SIGKILL);
  c.c->proc->Wait(std::chrono::seconds(20));
  c.c->proc.reset();
  c.down = true;
}

void SoakFleet::StartAgain(SoakController& c) {
  c.c->Start();
  c.down = false;
  c.stalled = false;
}

void SoakFleet::StartAgain(SoakHost& host) {
  host.h->updater.Launch();
  host.updater_down = false;
}

std::vector<std::string> SoakFleet::Watch(std::map<std::string, int>& notes) {
  std::vector<std::string> crashes;
  auto describe = [&](const std::string& who, const std::optional<ExitStatus>& st) {
    std::string how = "exited";
    if (st && st->exited()) how = "exited with status " + std::to_string(st->code());
    if (st && st->signaled()) how = "was killed by signal " + std::to_string(st->signal());
    const std::string line = who + " " + how + " without being told to";
    Say(line + "; started again");
    ++notes[who.substr(0, who.find(' ')) + " " + how];
    if (st && st->signaled()) crashes.push_back(line);
  };
  for (auto& c : controllers) {
    if (c.down || !c.c->proc || c.c->proc->running()) continue;
    const auto st = c.c->proc->Wait(std::chrono::milliseconds(0));
    describe("controller " + c.name, st);
    std::string err = c.c->proc->Stderr();
    Say("its last log lines:\n" + err.substr(err.size() > 2000 ? err.size() - 2000 : 0));
    c.c->proc.reset();
    StartAgain(c);
  }
  for (auto& host : hosts) {
    if (host->updater_down || !host->started || host->h->updater.proc().running()) continue;
    const auto st = host->h->updater.proc().Wait(std::chrono::milliseconds(0));
    describe("updater " + host->Name(), st);
    const std::string logs = host->h->Logs();
    Say("its last log lines:\n" + logs.substr(logs.size() > 2000 ? logs.size() - 2000 : 0));
    StartAgain(*host);
  }
  return crashes;
}

}  // namespace steward::test::soak
