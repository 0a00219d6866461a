#include "cli/admin_commands.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.hpp"
#include "common/files.hpp"
#include "common/http_client.hpp"
#include "common/token_file.hpp"
#include "common/trust.hpp"

namespace steward::cli {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxFile = 1 << 20;

struct Connection {
  std::string controller;
  std::string token_file;
  std::string ca_file;  // for https controllers with the fleet's own CA
};

int Report(const Error& e) {
  std::cerr << "stewardctl: " << e.ToString() << "\n";
  return ExitCodeFor(e.code);
}

Result<std::string> Token(const Connection& c) {
  if (!c.token_file.empty()) {
    // The controller's own format: the first token of the file.
    auto tokens = ReadTokenFile(c.token_file);
    if (!tokens) return std::unexpected(tokens.error().Wrap("--token-file"));
    return tokens->front();
  }
  if (const char* env = std::getenv("STEWARD_TOKEN"); env && *env) return std::string(env);
  return Fail(ErrorCode::usage, "no admin token: pass --token-file FILE or set STEWARD_TOKEN");
}

// Sends the request; a JSON error answer becomes an Error with the server's code and message.
Result<json> Call(const Connection& c, const std::string& method, const std::string& path,
                  const std::string& body = "") {
  if (c.controller.empty()) {
    return Fail(ErrorCode::usage, "no controller: pass --controller URL or set STEWARD_CONTROLLER");
  }
  auto token = Token(c);
  if (!token) return std::unexpected(token.error());
  http::ClientOptions opt;
  opt.timeout = std::chrono::seconds(120);  // publishing checks every artifact URL
  opt.ca_file = c.ca_file;
  http::Client client(opt);
  http::RequestSpec spec;
  spec.method = method;
  std::string base = c.controller;
  while (!base.empty() && base.back() == '/') base.pop_back();
  spec.url = base + path;
  spec.bearer_token = *token;
  if (!body.empty()) {
    spec.body = body;
    spec.headers.push_back("Content-Type: application/json");
  }
  auto res = client.Perform(spec);
  if (!res) {
    auto e = res.error();
    if (e.code == ErrorCode::http_transport) e.code = ErrorCode::unavailable;
    return std::unexpected(e.Wrap("controller " + base));
  }
  json j = json::parse(res->body, nullptr, false);
  if (res->status < 200 || res->status > 299) {
    if (j.is_object() && j.contains("error") && j["error"].is_object()) {
      // A hostile or broken server may send anything here: read strings only.
      const auto text = [&](const char* key) {
        const auto it = j["error"].find(key);
        return it != j["error"].end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      return Fail(ErrorCodeFromName(text("code")).value_or(ErrorCode::http_status),
                  text("message") + " (HTTP " + std::to_string(res->status) + ")");
    }
    return Fail(ErrorCode::http_status,
                "controller answered HTTP " + std::to_string(res->status) + ": " + res->body);
  }
  if (j.is_discarded()) {
    return Fail(ErrorCode::bad_request, "controller answered something that is not JSON");
  }
  return j;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_float()) {  // 25.0 -> "25", 0.5 -> "0.5"
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", it->get<double>());
    return buf;
  }
  return it->dump();
}

void Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    width.resize(std::max(width.size(), r.size()));
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

std::string Encode(const std::string& s) {
  std::string out;
  for (const char c : s) {
    const auto ch = static_cast<unsigned char>(c);
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.') {
      out += static_cast<char>(ch);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", ch);
      out += buf;
    }
  }
  return out;
}

}  // namespace

struct AdminCommands::Impl {
  Connection conn;
  std::function<int()> action;
  bool json_out = false;
  std::string manifest;
  std::vector<std::string> signatures;
  std::string component, channel, version, minimum, node_id;
  double percent = -1;
  std::vector<std::string> flag_args;  // NAME=VALUE for set, NAME for unset

  void Connect(CLI::App* sub) {
    sub->add_option("--controller", conn.controller, "Controller URL")
        ->envname("STEWARD_CONTROLLER");
    sub->add_option("--token-file", conn.token_file,
                    "File holding the admin token (else STEWARD_TOKEN)");
    sub->add_option("--ca-file", conn.ca_file,
                    "CA certificates (PEM) for an https controller, e.g. the ca.pem of "
                    "stewardctl tls init; default: the system's")
        ->envname("STEWARD_CA_FILE");
  }

  void On(CLI::App* sub, std::function<int()> fn) {
    Connect(sub);
    sub->callback([this, fn = std::move(fn)] { action = fn; });
  }

  int Publish() {
    auto bytes = files::ReadFile(manifest, kMaxFile);
    if (!bytes) return Report(bytes.error());
    std::vector<std::string> sig_files = signatures;
    if (sig_files.empty()) {
      for (const auto& f : trust::SignatureFilesBeside(manifest)) sig_files.push_back(f.string());
    }
    if (sig_files.empty()) {
      return Report(Error{ErrorCode::usage, "no signatures: pass --signature FILE or put " +
                                                manifest + ".minisig next to the manifest"});
    }
    json body{{"manifest", *bytes}, {"signatures", json::array()}};
    for (const auto& f : sig_files) {
      auto s = files::ReadFile(f, kMaxFile);
      if (!s) return Report(s.error());
      body["signatures"].push_back(*s);
    }
    auto r = Call(conn, "POST", "/v1/admin/releases", body.dump());
    if (!r) return Report(r.error());
    if (json_out) {
      std::cout << r->dump(2) << "\n";
    } else if (r->value("published", false)) {
      std::cout << "published " << Str(*r, "component") << "/" << Str(*r, "channel") << " "
                << Str(*r, "version") << " (sequence " << Str(*r, "sequence") << ")\n";
    } else {
      std::cout << "already published: " << Str(*r, "component") << "/" << Str(*r, "channel") << " "
                << Str(*r, "version") << "\n";
    }
    return 0;
  }

  int ListReleases() {
    std::string q;
    if (!component.empty()) q += "component=" + Encode(component);
    if (!channel.empty()) q += (q.empty() ? "" : "&") + std::string("channel=") + Encode(channel);
    auto r = Call(conn, "GET", "/v1/admin/releases" + (q.empty() ? "" : "?" + q));
    if (!r) return Report(r.error());
    if (json_out) {
      std::cout << (*r)["releases"].dump(2) << "\n";
      return 0;
    }
    std::vector<std::vector<std::string>> rows{
        {"COMPONENT", "CHANNEL", "VERSION", "SEQUENCE", "PUBLISHED", "EXPIRES"}};
    for (const auto& x : (*r)["releases"]) {
      rows.push_back({Str(x, "component"), Str(x, "channel"), Str(x, "version"), Str(x, "sequence"),
                      Str(x, "published_at"), Str(x, "expires")});
    }
    Table(rows);
    return 0;
  }

  int PutRollout(json body) {
    auto r = Call(conn, "PUT", "/v1/admin/rollouts/" + Encode(component) + "/" + Encode(channel),
                  body.dump());
    if (!r) return Report(r.error());
    if (json_out) {
      std::cout << r->dump(2) << "\n";
      return 0;
    }
    std::cout << "rollout " << Str(*r, "component") << "/" << Str(*r, "channel") << ": version "
              << Str(*r, "version") << " at " << Str(*r, "percent") << "%"
              << ((*r)["paused"].get<bool>() ? ", paused" : "") << "\n";
    return 0;
  }

  int SetRollout() {
    json body{{"version", version}, {"percent", percent}};
    if (!minimum.empty()) body["minimum"] = minimum;
    return PutRollout(body);
  }

  static std::vector<std::string> RolloutRow(const json& x) {
    std::string state = x.value("paused", false) ? "paused" : "active";
    if (!x.value("halt_reason", "").empty()) state = "halted: " + x.value("halt_reason", "");
    return {Str(x, "component"),
            Str(x, "channel"),
            Str(x, "version"),
            Str(x, "percent") + "%",
            Str(x, "nodes_on_target") + "/" + Str(x, "nodes"),
            Str(x, "rolled_back") + "/" + Str(x, "update_attempts"),
            state};
  }

  static std::vector<std::string> RolloutHeader() {
    return {"COMPONENT", "CHANNEL", "VERSION", "PERCENT", "ON TARGET", "ROLLED BACK", "STATE"};
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
    Table(rows);
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
        comps += Str(c, "name") + "@" + Str(c, "running_version") + "(" + Str(c, "state") + ")";
      }
      rows.push_back({Str(n, "id"), Str(n, "hostname"), Str(n, "platform"), Str(n, "last_seen"),
                      comps.empty() ? "-" : comps});
    }
    Table(rows);
    return 0;
  }

  int ShowNode() {
    auto r = Call(conn, "GET", "/v1/admin/nodes/" + Encode(node_id));
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
    std::cout << "nodes: " << Str(*r, "nodes") << "\n\nversions:\n";
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
    Table(rows);
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
  Table(rows);
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

}  // namespace

AdminCommands::AdminCommands() : impl_(std::make_unique<Impl>()) {}
AdminCommands::~AdminCommands() = default;

void AdminCommands::Register(CLI::App& app) {
  Impl* d = impl_.get();
  auto existing = app.get_subcommands(
      std::function<bool(CLI::App*)>([](CLI::App* a) { return a->get_name() == "release"; }));
  CLI::App* release =
      existing.empty() ? app.add_subcommand("release", "Create, verify, publish and list releases")
                       : existing.front();
  release->description("Create, verify, publish and list releases");
  release->require_subcommand(1);
  auto* publish = release->add_subcommand("publish", "Publish a signed release to the controller");
  publish->add_option("manifest", d->manifest, "The signed manifest file")->required();
  publish->add_option("-s,--signature", d->signatures,
                      "Signature file (repeatable; default: <manifest>.*minisig)");
  publish->add_flag("--json", d->json_out, "Print the answer as JSON");
  d->On(publish, [d] { return d->Publish(); });
  auto* list = release->add_subcommand("list", "List published releases");
  list->add_option("--component", d->component, "Only this component");
  list->add_option("--channel", d->channel, "Only this channel");
  list->add_flag("--json", d->json_out, "Print JSON");
  d->On(list, [d] { return d->ListReleases(); });

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

  auto* fleet = app.add_subcommand("fleet", "Fleet summary: versions, states, rollout progress");
  fleet->add_flag("--json", d->json_out, "Print JSON");
  d->On(fleet, [d] { return d->Fleet(); });
}

std::optional<int> AdminCommands::Run() {
  if (!impl_->action) return std::nullopt;
  return impl_->action();
}

}  // namespace steward::cli
