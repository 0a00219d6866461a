// A real steward-controller on loopback for integration tests: a temp dir with a freshly
// generated root (one root key, one release key), token files, a blob directory and a SQLite
// store; helpers to sign manifests, publish, enroll and check in.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/files.hpp"
#include "common/hash.hpp"
#include "common/http_client.hpp"
#include "common/minisign.hpp"
#include "common/rfc3339.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::test {

using nlohmann::json;

inline constexpr const char* kAdminToken = "admin-token-0123456789abcdef";
inline constexpr const char* kEnrollToken = "enroll-token-0123456789abcdef";

struct Reply {
  long status = 0;
  json body;
  std::string raw;
  std::string code() const {
    return body.is_object() && body.contains("error") ? body["error"].value("code", "") : "";
  }
  std::string message() const {
    return body.is_object() && body.contains("error") ? body["error"].value("message", "") : "";
  }
};

struct Node {
  std::string id;
  std::string token;
};

class Controller {
 public:
  minisign::SecretKey root_key = minisign::SecretKey::Generate();
  minisign::SecretKey release_key = minisign::SecretKey::Generate();
  TempDir dir;
  std::string url;
  std::string ca_file;  // for an https controller: the CA the test's requests trust
  std::optional<Child> proc;

  explicit Controller(std::string extra_config = "", WallTime root_expires = DaysFromNow(365)) {
    WriteRoot(root_expires);
    dir.Write("admin-token", std::string(kAdminToken) + "\n");
    dir.Write("enroll-token", std::string("# enroll tokens\n") + kEnrollToken + "\n");
    std::filesystem::create_directories(dir / "blobs");
    dir.Write("controller.toml",
              "listen = \"127.0.0.1:0\"\nstore = \"sqlite:" + (dir / "controller.db").string() +
                  "\"\nroot = \"" + (dir / "root.json").string() + "\"\nadmin_token_file = \"" +
                  (dir / "admin-token").string() + "\"\nenroll_token_file = \"" +
                  (dir / "enroll-token").string() + "\"\nblob_dir = \"" + (dir / "blobs").string() +
                  "\"\n" + extra_config);
  }

  ~Controller() { Stop(); }

  static WallTime DaysFromNow(int days) {
    return std::chrono::system_clock::now() + std::chrono::hours(24 * days);
  }

  std::string config() const { return (dir / "controller.toml").string(); }

  // Points the config's `store` at `url` (a postgresql:// URL) in place of its SQLite file.
  void UseStore(const std::string& store_url) {
    auto text = files::ReadFile(config(), 1 << 20);
    ASSERT_TRUE(text) << text.error().message;
    const auto at = text->find("store = ");
    text->replace(at, text->find('\n', at) - at, "store = \"" + store_url + "\"");
    dir.Write("controller.toml", *text);
  }

  void WriteRoot(WallTime expires) {
    json root{{"schema", "steward.root/1"},
              {"version", 1},
              {"expires", FormatRfc3339(expires)},
              {"keys",
               {{"root1", root_key.public_key().ToBase64()},
                {"rel1", release_key.public_key().ToBase64()}}},
              {"roles",
               {{"root", {{"keys", {"root1"}}, {"threshold", 1}}},
                {"release", {{"keys", {"rel1"}}, {"threshold", 1}}}}}};
    const auto bytes = root.dump(2);
    dir.Write("root.json", bytes);
    dir.Write("root.json.root1.minisig", Sign(root_key, bytes));
  }

  static std::string Sign(const minisign::SecretKey& key, std::string_view bytes) {
    auto sig = minisign::SignBytes(key, bytes, minisign::DefaultTrustedComment(0, "manifest"));
    EXPECT_TRUE(sig) << sig.error().message;
    return sig->ToFile();
  }

  void Start() {
    proc.emplace(Child::Spawn({Bin("steward-controller"), "serve", "--config", config()}));
    ASSERT_TRUE(proc->WaitForOutput("listening on ", 20s)) << proc->Stderr();
    const auto err = proc->Stderr();
    const auto at = err.find("public_url=", err.find("listening on ")) + 11;
    url = err.substr(at, err.find(' ', at) - at);
  }

  // SIGTERM and wait for a clean exit.
  void Stop() {
    if (!proc) return;
    proc->Signal(SIGTERM);
    auto st = proc->Wait(20s);
    EXPECT_TRUE(st && st->exited() && st->code() == 0) << proc->Stderr();
    proc.reset();
  }

  void Restart() {
    Stop();
    Start();
  }

  Reply Request(const std::string& method, const std::string& path, const std::string& body = "",
                const std::string& bearer = "") const {
    http::ClientOptions options;
    options.ca_file = ca_file;
    http::Client client(options);
    http::RequestSpec spec;
    spec.method = method;
    spec.url = url + path;
    spec.body = body;
    spec.bearer_token = bearer;
    if (!body.empty()) spec.headers.push_back("Content-Type: application/json");
    auto r = client.Perform(spec);
    EXPECT_TRUE(r) << r.error().message;
    Reply out;
    if (!r) return out;
    out.status = r->status;
    out.raw = r->body;
    out.body = json::parse(r->body, nullptr, false);
    return out;
  }

  Reply Admin(const std::string& method, const std::string& path, const json& body = nullptr) {
    return Request(method, "/v1/admin/" + path, body.is_null() ? "" : body.dump(), kAdminToken);
  }

  // A blob in the controller's blob dir; returns {url, size, sha256 hex}.
  json Blob(std::string_view content) {
    const auto sha = HexEncode(Sha256Of(content));
    dir.Write("blobs/" + sha, content);
    return json{{"url", url + "/v1/artifacts/" + sha}, {"size", content.size()}, {"sha256", sha}};
  }

  static std::string Manifest(const std::string& component, const std::string& channel,
                              const std::string& version, int sequence, const json& artifact,
                              WallTime expires = DaysFromNow(30)) {
    json m{{"schema", "steward.release/1"},
           {"component", component},
           {"channel", channel},
           {"version", version},
           {"sequence", sequence},
           {"root_version", 1},
           {"issued_at", FormatRfc3339(std::min(std::chrono::system_clock::now(), expires) -
                                       std::chrono::hours(1))},
           {"expires", FormatRfc3339(expires)},
           {"artifacts",
            {{"linux-x86_64",
              {{"url", artifact["url"]},
               {"size", artifact["size"]},
               {"sha256", artifact["sha256"]},
               {"format", "binary"}}}}}};
    return m.dump(2);
  }

  Reply Publish(const std::string& manifest, const std::vector<std::string>& sigs) {
    return Admin("POST", "releases", json{{"manifest", manifest}, {"signatures", sigs}});
  }

  // Signs with the release key and publishes; expects success.
  void PublishVersion(const std::string& component, const std::string& channel,
                      const std::string& version, int sequence) {
    const auto m = Manifest(component, channel, version, sequence, Blob("binary of " + version));
    auto r = Publish(m, {Sign(release_key, m)});
    ASSERT_EQ(r.status, 201) << r.raw;
  }

  // POST /v1/enroll with the enroll token; `proof`: a node token sent as the bearer.
  Reply EnrollRequest(const std::string& machine_id, const std::string& hostname,
                      const std::string& proof = "") const {
    return Request("POST", "/v1/enroll",
                   json{{"enroll_token", kEnrollToken},
                        {"hostname", hostname},
                        {"machine_id", machine_id},
                        {"platform", "linux-x86_64"}}
                       .dump(),
                   proof);
  }

  Node Enroll(const std::string& machine_id) {
    auto r = EnrollRequest(machine_id, "host-" + machine_id);
    EXPECT_EQ(r.status, 200) << r.raw;
    return Node{r.body.value("node_id", ""), r.body.value("node_token", "")};
  }

  static json Component(const std::string& name, const std::string& channel,
                        const std::string& running, const json& last_update = nullptr) {
    json c{{"name", name},
           {"channel", channel},
           {"running_version", running},
           {"installed_version", running},
           {"state", "running"}};
    if (!last_update.is_null()) c["last_update"] = last_update;
    return c;
  }

  Reply Checkin(const Node& node, const json& components) const {
    return Request("POST", "/v1/checkin",
                   json{{"node_id", node.id},
                        {"updater", {{"version", "0.1.0"}}},
                        {"components", components},
                        {"host", {{"os", "linux"}, {"arch", "x86_64"}}}}
                       .dump(),
                   node.token);
  }

  // The version the check-in answer tells the node to run for `component`, "" for none.
  static std::string Offered(const Reply& r, const std::string& component) {
    if (!r.body.is_object() || !r.body.contains("releases")) return "";  // an error answer
    for (const auto& rel : r.body["releases"]) {
      if (rel.value("component", "") == component) return rel.value("version", "");
    }
    return "";
  }
};

// A check-in's components: agent on channel stable running `running`, with its last update.
inline json StableAgent(const std::string& running, const json& last_update = nullptr) {
  return json::array({Controller::Component("agent", "stable", running, last_update)});
}

// A node's last update from 1.0.0 to 2.0.0 as it reports it.
inline json UpdateTo200(const std::string& result, const std::string& error_code = "") {
  return json{{"from", "1.0.0"}, {"to", "2.0.0"}, {"result", result}, {"error_code", error_code}};
}

}  // namespace steward::test
