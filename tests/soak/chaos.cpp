#include "tests/soak/chaos.hpp"

#include <signal.h>

namespace steward::test::soak {

namespace {
// A host just hit is left alone this long: two agent crashes inside one health gate would be
// a crash loop, and that rolls back (and marks bad) a good release.
constexpr auto kHostRest = std::chrono::seconds(20);
}  // namespace

const char* FaultName(Fault f) {
  switch (f) {
    case Fault::kill_updater:
      return "kill -9 updater";
    case Fault::kill_agent:
      return "kill -9 agent";
    case Fault::kill_controller:
      return "kill -9 controller";
    case Fault::stall_controller:
      return "SIGSTOP controller";
    case Fault::full_disk:
      return "full disk";
    case Fault::slow_controller:
      return "slow controller";
    case Fault::operator_stop:
      return "operator stop/start";
  }
  return "?";
}

Clock::duration Chaos::Between(double lo_s, double hi_s) {
  std::uniform_real_distribution<double> d(lo_s, hi_s);
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(d(rng_)));
}

void Chaos::Later(Clock::duration in, std::string what, std::function<bool()> run) {
  repairs_.push_back(Repair_{Clock::now() + in, std::move(what), std::move(run)});
}

SoakHost* Chaos::PickHost(bool need_agent) {
  std::vector<SoakHost*> ok;
  for (auto& h : fleet_.hosts) {
    if (h->updater_down || h->agent_stopped || Clock::now() < h->quiet_until) continue;
    if (need_agent && h->h->AgentProcesses().empty()) continue;
    ok.push_back(h.get());
  }
  if (ok.empty()) return nullptr;
  SoakHost* h = ok[std::uniform_int_distribution<std::size_t>(0, ok.size() - 1)(rng_)];
  h->quiet_until = Clock::now() + kHostRest;
  return h;
}

SoakController* Chaos::PickController(bool only_b) {
  if (controller_fault_) return nullptr;
  if (only_b) return fleet_.B().Serving() ? &fleet_.B() : nullptr;
  auto& c = fleet_.controllers[std::uniform_int_distribution<std::size_t>(0, 1)(rng_)];
  return c.Serving() ? &c : nullptr;
}

void Chaos::InjectOne() {
  // A kind with no target now (every host resting, a controller already faulted) gives its
  // turn to another.
  for (int attempt = 0; attempt < 8; ++attempt) {
    const Fault kind =
        kinds_[std::uniform_int_distribution<std::size_t>(0, kinds_.size() - 1)(rng_)];
    if (Inject(kind)) {
      ++injected[FaultName(kind)];
      return;
    }
  }
}

// Each case: break, say what, and schedule the repair.
bool Chaos::Inject(Fault kind) {
  switch (kind) {
    case Fault::kill_updater: {
      SoakHost* h = PickHost(false);
      if (h == nullptr) return false;
      h->h->updater.proc().Signal(SIGKILL);
      h->h->updater.proc().Wait(std::chrono::seconds(10));
      h->updater_down = true;
      Say("fault: kill -9 updater of " + h->Name());
      // While it is down its journal can be read: the state a crash left.
      invariants_.CheckJournal(*h, false);
      Later(Between(1, 4), "start updater of " + h->Name(), [this, h] {
        fleet_.StartAgain(*h);
        return true;
      });
      return true;
    }
    case Fault::kill_agent: {
      SoakHost* h = PickHost(true);
      if (h == nullptr) return false;
      const auto pids = h->h->AgentProcesses();
      if (pids.empty()) return false;
      ::kill(pids[0], SIGKILL);
      Say("fault: kill -9 agent of " + h->Name() + " pid " + std::to_string(pids[0]));
      return true;
    }
    case Fault::kill_controller: {
      SoakController* c = PickController(false);
      if (c == nullptr) return false;
      fleet_.Kill9(*c);
      controller_fault_ = true;
      Say("fault: kill -9 controller " + c->name);
      Later(Between(2, 6), "start controller " + c->name, [this, c] {
        if (c->down) fleet_.StartAgain(*c);
        controller_fault_ = false;
        return true;
      });
      return true;
    }
    case Fault::stall_controller: {
      SoakController* c = PickController(false);
      if (c == nullptr) return false;
      c->c->proc->Signal(SIGSTOP);
      c->stalled = true;
      controller_fault_ = true;
      Say("fault: SIGSTOP controller " + c->name);
      Later(Between(2, 8), "SIGCONT controller " + c->name, [this, c] {
        if (c->c->proc) c->c->proc->Signal(SIGCONT);
        c->stalled = false;
        controller_fault_ = false;
        return true;
      });
      return true;
    }
    case Fault::full_disk: {
      SoakHost& h = *fleet_.hosts[0];
      if (!h.disk || h.updater_down || Clock::now() < h.quiet_until) return false;
      h.quiet_until = Clock::now() + kHostRest;
      const auto bytes = h.disk->Fill();
      Say("fault: disk full on " + h.Name() + " (" + std::to_string(bytes >> 20) + " MB filler)");
      Later(Between(5, 15), "free the disk of " + h.Name(), [&h] {
        h.disk->Free();
        return true;
      });
      return true;
    }
    case Fault::slow_controller: {
      SoakController* c = PickController(true);
      if (c == nullptr) return false;
      const auto delay =
          std::chrono::milliseconds(std::uniform_int_distribution<int>(500, 3000)(rng_));
      fleet_.proxy->SetDelay(delay);
      controller_fault_ = true;
      Say("fault: controller b answers " + std::to_string(delay.count()) + " ms late");
      Later(Between(10, 20), "controller b answers at once", [this] {
        fleet_.proxy->SetDelay(std::chrono::milliseconds(0));
        controller_fault_ = false;
        return true;
      });
      return true;
    }
    case Fault::operator_stop: {
      SoakHost* h = PickHost(true);
      if (h == nullptr) return false;
      if (h->h->updater.Cli({"stop", "agent"}).status.code() != 0) return false;
      h->agent_stopped = true;
      Say("fault: operator stops the agent of " + h->Name());
      Later(Between(3, 10), "operator starts the agent of " + h->Name(), [h] {
        if (h->updater_down || h->h->updater.Cli({"start", "agent"}).status.code() != 0)
          return false;
        h->agent_stopped = false;
        return true;
      });
      return true;
    }
  }
  return false;
}

void Chaos::Repair(bool all) {
  // Repairs may be added while running these: take the list first.
  std::vector<Repair_> due;
  std::vector<Repair_> later;
  for (auto& r : repairs_) (all || Clock::now() >= r.due ? due : later).push_back(std::move(r));
  repairs_ = std::move(later);
  for (auto& r : due) {
    if (r.run()) {
      Say("repair: " + r.what);
    } else {
      r.due = Clock::now() + std::chrono::seconds(1);
      repairs_.push_back(std::move(r));
    }
  }
}

}  // namespace steward::test::soak
