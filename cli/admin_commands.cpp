#include "cli/admin_commands.hpp"

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>

#include "cli/admin_api.hpp"
#include "cli/commands.hpp"
#include "common/duration.hpp"

namespace steward::cli {

using nlohmann::json;

struct AdminCommands::Impl {
  Connection conn;
  std::function<int()> action;
  bool json_out = false;
  std::string component, channel, version, minimum, node_id;
  double percent = -1;
  std::int64_t canary = -1, max_in_flight = -1;  // -1: not given
  std::string bake;                              // "30m"; "" not given
  bool immediate = false;
  std::vector<std::string> flag_args;  // NAME=VALUE for set, NAME for unset
  std::vector<std::string> windows;    // "mon-fri 02:00 2h Europe/Berlin"
  std::string max_wait;                // "72h"; "" none

  void On(CLI::App* sub, std::function<int()> fn) {
    AddConnectionOptions(*sub, conn);
    sub->callback([this, fn = std::move(fn)] { action = fn; });
  }

  int PutRollout(json body) {
    auto r =
        Call(conn, "PUT", "/v1/admin/rollouts/" + UrlEncode(component) + "/" + UrlEncode(channel),
             body.dump());
    if (!r) return Report(r.error());
    if (json_out) {
      std::cout << r->dump(2) << "\n";
      return 0;
    }
    std::cout << "rollout " << Cell(*r, "component") << "/" << Cell(*r, "channel") << ": version "
              << Cell(*r, "version") << " at " << Cell(*r, "percent") << "%"
              << ((*r)["paused"].get<bool>() ? ", paused" : "") << ", " << Pacing(*r) << "\n";
    return 0;
  }

  // Every `rollout set` says whether it is immediate: leaving --immediate out goes back to waves.
  int SetRollout() {
    json body{{"version", version}, {"percent", percent}, {"immediate", immediate}};
    if (!minimum.empty()) body["minimum"] = minimum;
    if (canary >= 0) body["canary"] = canary;
    if (max_in_flight >= 0) body["max_in_flight"] = max_in_flight;
    if (!bake.empty()) {
      auto d = ParseDuration(bake);
      if (!d) {
        return Report(Error{ErrorCode::usage, "--bake " + bake + ": " + d.error().message +
                                                  " (e.g. 30m, 1h, 0 for the default)"});
      }
      body["bake"] = std::chrono::duration_cast<std::chrono::seconds>(*d).count();
    }
    return PutRollout(body);
  }

  // "waves (canary 5, 20 in flight, bake 30m)" with "default" for what was not set.
  static std::string Pacing(const json& x) {
    if (x.value("immediate", false)) return "immediate (no waves)";
    auto setting = [&](const char* key) {
      const auto v = x.value(key, std::int64_t{0});
      return v > 0 ? std::to_string(v) : std::string("default");
    };
    const auto bake_s = x.value("bake", std::int64_t{0});
    return "waves (canary " + setting("canary") + ", max in flight " + setting("max_in_flight") +
           ", bake " + (bake_s > 0 ? FormatDuration(std::chrono::seconds(bake_s)) : "default") +
           ")";
  }

  static std::vector<std::string> RolloutRow(const json& x) {
    std::string state = x.value("paused", false) ? "paused" : "active";
    if (!x.value("halt_reason", "").empty()) state = "halted: " + x.value("halt_reason", "");
    return {Cell(x, "component"),
            Cell(x, "channel"),
            Cell(x, "version"),
            Cell(x, "percent") + "%",
            Cell(x, "nodes_on_target") + "/" + Cell(x, "nodes"),
            Cell(x, "rolled_back") + "/" + Cell(x, "update_attempts"),
            x.value("immediate", false) ? "immediate" : Cell(x, "wave"),
            Cell(x, "in_flight"),
            Cell(x, "committed"),
            state};
  }

  static std::vector<std::string> RolloutHeader() {
    return {"COMPONENT",   "CHANNEL", "VERSION",   "PERCENT",   "ON TARGET",
            "ROLLED BACK", "WAVE",    "IN FLIGHT", "COMMITTED", "STATE"};
  }

  int ListRollouts() {
    auto r = Call(conn, "GET", "/v1/admin/rollouts");
    if (!r) return Report(r.error());
    if (json_out) {
      std::cout << (*r)["rollouts"].dump(2) << "\n";
      return 0;
    }
    std::vector<std::vector<std::string>> rows{RolloutHeader()};
    for (const auto& x : (*r)["rollouts"]) rows.push_back(RolloutRow(x));
    PrintTable(rows);
    return 0;
  }

  int ListNodes() {
    auto r = Call(conn, "GET", "/v1/admin/nodes");
    if (!r) return Report(r.error());
    if (json_out) {
      std::cout << (*r)["nodes"].dump(2) << "\n";
      return 0;
    }
    std::vector<std::vector<std::string>> rows{
        {"ID", "HOSTNAME", "PLATFORM", "LAST SEEN", "COMPONENTS"}};
    for (const auto& n : (*r)["nodes"]) {
      std::string comps;
      for (const auto& c : n["components"]) {
        if (!comps.empty()) comps += " ";
        comps += Cell(c, "name") + "@" + Cell(c, "running_version") + "(" + Cell(c, "state") + ")";
      }
      rows.push_back({Cell(n, "id"), Cell(n, "hostname"), Cell(n, "platform"), Cell(n, "last_seen"),
                      comps.empty() ? "-" : comps});
    }
    PrintTable(rows);
    return 0;
  }

  int ShowNode() {
    auto r = Call(conn, "GET", "/v1/admin/nodes/" + UrlEncode(node_id));
    if (!r) return Report(r.error());
    std::cout << r->dump(2) << "\n";
    return 0;
  }

  int Fleet() {
    auto r = Call(conn, "GET", "/v1/admin/fleet");
    if (!r) return Report(r.error());
    if (json_out) {
      std::cout << r->dump(2) << "\n";
      return 0;
    }
    std::cout << "nodes: " << Cell(*r, "nodes") << "\n\nversions:\n";
    for (const auto& [comp, versions] : (*r)["versions"].items()) {
      for (const auto& [v, n] : versions.items()) {
        std::cout << "  " << comp << " " << v << ": " << n.dump() << "\n";
      }
    }
    std::cout << "\nstates:\n";
    for (const auto& [comp, states] : (*r)["states"].items()) {
      for (const auto& [s, n] : states.items()) {
        std::cout << "  " << comp << " " << s << ": " << n.dump() << "\n";
      }
    }
    std::cout << "\nrollouts:\n";
    std::vector<std::vector<std::string>> rows{RolloutHeader()};
    for (const auto& x : (*r)["rollouts"]) rows.push_back(RolloutRow(x));
    PrintTable(rows);
    return 0;
  }
};

namespace {

// ---- flags --------------------------------------------------------------------------------

// VALUE on the command line: true, false or a number as JSON; a JSON string in quotes is that
// string (so '"true"' is the text true); anything else is the text itself.
json FlagValue(const std::string& text) {
  json v = json::parse(text, nullptr, false);
  if (v.is_discarded() || !(v.is_boolean() || v.is_number() || v.is_string())) return json(text);
  return v;
}

std::string Scope(const std::string& channel) {
  return channel.empty() ? "global" : "channel:" + channel;
}

int PrintFlags(const json& doc, bool as_json) {
  if (as_json) {
    std::cout << doc.dump(2) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"SCOPE", "NAME", "VALUE"}};
  const auto add = [&](const std::string& scope, const json& flags) {
    if (!flags.is_object()) return;
    for (const auto& [name, value] : flags.items()) rows.push_back({scope, name, value.dump()});
  };
  if (doc.contains("global")) add("global", doc["global"]);
  if (doc.contains("channels") && doc["channels"].is_object()) {
    for (const auto& [ch, flags] : doc["channels"].items()) add("channel:" + ch, flags);
  }
  if (rows.size() == 1) {
    std::cout << "no flags set\n";
    return 0;
  }
  PrintTable(rows);
  return 0;
}

int ListFlags(const Connection& conn, bool as_json) {
  auto r = Call(conn, "GET", "/v1/admin/flags");
  if (!r) return Report(r.error());
  return PrintFlags(*r, as_json);
}

int ChangeFlags(const Connection& conn, const std::string& channel,
                const std::vector<std::string>& args, bool set, bool as_json) {
  json body{{"scope", Scope(channel)}};
  if (set) {
    json values = json::object();
    for (const auto& a : args) {
      const auto eq = a.find('=');
      if (eq == std::string::npos || eq == 0) {
        return Report(Error{ErrorCode::usage, "'" + a + "' must have the form NAME=VALUE"});
      }
      const auto name = a.substr(0, eq);
      if (values.contains(name)) {
        return Report(Error{ErrorCode::usage, "flag " + name + " is given twice"});
      }
      values[name] = FlagValue(a.substr(eq + 1));
    }
    body["set"] = std::move(values);
  } else {
    body["unset"] = args;
  }
  std::string text;
  try {
    text = body.dump();
  } catch (const json::exception&) {
    return Report(Error{ErrorCode::usage, "a flag name or value is not valid UTF-8"});
  }
  auto r = Call(conn, "PUT", "/v1/admin/flags", text);
  if (!r) return Report(r.error());
  return PrintFlags(*r, as_json);
}

// ---- maintenance windows ----------------------------------------------------------------------

int PrintWindows(const json& doc, bool as_json) {
  if (as_json) {
    std::cout << doc.dump(2) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"CHANNEL", "WINDOW", "MAX WAIT"}};
  for (const auto& ch : doc.value("windows", json::array())) {
    for (const auto& w : ch.value("windows", json::array())) {
      rows.push_back({Cell(ch, "channel"), w.get<std::string>(), Cell(ch, "max_wait")});
    }
  }
  if (rows.size() == 1) {
    std::cout << "no maintenance windows: nodes update whenever they are offered a release\n";
    return 0;
  }
  PrintTable(rows);
  return 0;
}

int PutWindows(const Connection& conn, const std::string& channel,
               const std::vector<std::string>& windows, const std::string& max_wait, bool as_json) {
  json body{{"windows", windows}};
  if (!max_wait.empty()) body["max_wait"] = max_wait;
  auto r = Call(conn, "PUT", "/v1/admin/windows/" + UrlEncode(channel), body.dump());
  if (!r) return Report(r.error());
  if (windows.empty() && !as_json) {
    std::cout << "channel " << channel << ": no maintenance windows\n";
    return 0;
  }
  return PrintWindows(*r, as_json);
}

}  // namespace

AdminCommands::AdminCommands() : impl_(std::make_unique<Impl>()) {}
AdminCommands::~AdminCommands() = default;

void AdminCommands::Register(CLI::App& app) {
  Impl* d = impl_.get();
  auto* rollout = app.add_subcommand("rollout", "Set, pause, resume and list rollouts");
  rollout->require_subcommand(1);
  auto* set = rollout->add_subcommand("set", "Roll a published version out to a percent of nodes");
  set->add_option("--component", d->component, "Component")->required();
  set->add_option("--channel", d->channel, "Channel")->required();
  set->add_option("--version", d->version, "Target version (published)")->required();
  set->add_option("--percent", d->percent, "Percent of nodes, 0-100")
      ->required()
      ->check(CLI::Range(0.0, 100.0));
  set->add_option("--minimum", d->minimum, "Nodes below this version go to it first");
  set->add_option("--canary", d->canary,
                  "Nodes in the first wave (default: max(5, 0.05 % of the channel's nodes))")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{100'000'000}));
  set->add_option("--max-in-flight", d->max_in_flight,
                  "Most nodes between offer and result (default: max(20, 1 %))")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{100'000'000}));
  set->add_option("--bake", d->bake,
                  "A wave's bake time, e.g. 30m: after it, 90 % committed starts the next wave");
  set->add_flag("--immediate", d->immediate,
                "No waves: everyone in the percent at once (an emergency fix)");
  set->add_flag("--json", d->json_out, "Print JSON");
  d->On(set, [d] { return d->SetRollout(); });
  for (const bool pause : {true, false}) {
    auto* sub = rollout->add_subcommand(pause ? "pause" : "resume",
                                        pause ? "Pause a rollout" : "Resume a paused rollout");
    sub->add_option("--component", d->component, "Component")->required();
    sub->add_option("--channel", d->channel, "Channel")->required();
    sub->add_flag("--json", d->json_out, "Print JSON");
    d->On(sub, [d, pause] { return d->PutRollout(json{{"paused", pause}}); });
  }
  auto* rlist = rollout->add_subcommand("list", "List rollouts and their progress");
  rlist->add_flag("--json", d->json_out, "Print JSON");
  d->On(rlist, [d] { return d->ListRollouts(); });

  auto* nodes = app.add_subcommand("nodes", "List and show enrolled nodes");
  nodes->require_subcommand(1);
  auto* nlist = nodes->add_subcommand("list", "List nodes");
  nlist->add_flag("--json", d->json_out, "Print JSON");
  d->On(nlist, [d] { return d->ListNodes(); });
  auto* show = nodes->add_subcommand("show", "Show one node and its last report (JSON)");
  show->add_option("id", d->node_id, "Node id")->required();
  d->On(show, [d] { return d->ShowNode(); });

  auto* flags = app.add_subcommand("flags", "List, set and unset feature flags");
  flags->require_subcommand(1);
  auto* flist = flags->add_subcommand("list", "List flags: global and per channel");
  flist->add_flag("--json", d->json_out, "Print JSON");
  d->On(flist, [d] { return ListFlags(d->conn, d->json_out); });
  auto* fset = flags->add_subcommand(
      "set", "Set flags; VALUE is true, false or a number, else a string ('\"1\"' for the text 1)");
  fset->add_option("flags", d->flag_args, "NAME=VALUE …")->required();
  fset->add_option("--channel", d->channel, "For nodes on this channel (default: global)");
  fset->add_flag("--json", d->json_out, "Print the new flags as JSON");
  d->On(fset, [d] { return ChangeFlags(d->conn, d->channel, d->flag_args, true, d->json_out); });
  auto* funset = flags->add_subcommand("unset", "Remove flags");
  funset->add_option("names", d->flag_args, "NAME …")->required();
  funset->add_option("--channel", d->channel, "From this channel's flags (default: global)");
  funset->add_flag("--json", d->json_out, "Print the new flags as JSON");
  d->On(funset, [d] { return ChangeFlags(d->conn, d->channel, d->flag_args, false, d->json_out); });

  auto* windows = app.add_subcommand(
      "windows", "Maintenance windows: when nodes on a channel may begin an update");
  windows->require_subcommand(1);
  auto* wset = windows->add_subcommand(
      "set", "Replace a channel's windows (immediate rollouts and stopped nodes ignore them)");
  wset->add_option("channel", d->channel, "Channel")->required();
  wset->add_option("--window", d->windows,
                   "DAYS HH:MM DURATION ZONE, e.g. 'mon-fri 02:00 2h Europe/Berlin'; repeatable")
      ->required();
  wset->add_option("--max-wait", d->max_wait,
                   "After waiting this long for a window (e.g. 72h) an update begins anyway");
  wset->add_flag("--json", d->json_out, "Print JSON");
  d->On(wset,
        [d] { return PutWindows(d->conn, d->channel, d->windows, d->max_wait, d->json_out); });
  auto* wclear = windows->add_subcommand("clear", "Remove a channel's windows");
  wclear->add_option("channel", d->channel, "Channel")->required();
  wclear->add_flag("--json", d->json_out, "Print JSON");
  d->On(wclear, [d] { return PutWindows(d->conn, d->channel, {}, "", d->json_out); });
  auto* wlist = windows->add_subcommand("list", "List every channel's windows");
  wlist->add_flag("--json", d->json_out, "Print JSON");
  d->On(wlist, [d] {
    auto r = Call(d->conn, "GET", "/v1/admin/windows");
    if (!r) return Report(r.error());
    return PrintWindows(*r, d->json_out);
  });

  auto* fleet = app.add_subcommand("fleet", "Fleet summary: versions, states, rollout progress");
  fleet->add_flag("--json", d->json_out, "Print JSON");
  d->On(fleet, [d] { return d->Fleet(); });
}

std::optional<int> AdminCommands::Run() {
  if (!impl_->action) return std::nullopt;
  return impl_->action();
}

}  // namespace steward::cli
