// The admin API client: one call per command, errors in the controller's own words.
#include "cli/admin_api.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "common/http_client.hpp"
#include "common/protocol.hpp"
#include "common/token_file.hpp"

namespace steward::cli {

using nlohmann::json;

namespace {

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

}  // namespace

void AddConnectionOptions(CLI::App& sub, Connection& conn) {
  sub.add_option("--controller", conn.controller, "Controller URL")->envname("STEWARD_CONTROLLER");
  sub.add_option("--token-file", conn.token_file,
                 "File holding the admin token (else STEWARD_TOKEN)");
  sub.add_option("--ca-file", conn.ca_file,
                 "CA certificates (PEM) for an https controller, e.g. the ca.pem of "
                 "stewardctl tls init; default: the system's")
      ->envname("STEWARD_CA_FILE");
}

Result<json> Call(const Connection& c, const std::string& method, const std::string& path,
                  const std::string& body) {
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
  if (res->status < 200 || res->status > 299) {
    if (auto e = protocol::DecodeError(res->body)) {
      return Fail(ErrorCodeFromName(e->code).value_or(ErrorCode::http_status),
                  e->message + " (HTTP " + std::to_string(res->status) + ")");
    }
    return Fail(ErrorCode::http_status,
                "controller answered HTTP " + std::to_string(res->status) + ": " + res->body);
  }
  json j = json::parse(res->body, nullptr, false);
  if (j.is_discarded()) {
    return Fail(ErrorCode::bad_request, "controller answered something that is not JSON");
  }
  return j;
}

std::string Cell(const json& j, const char* key) {
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

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
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

std::string UrlEncode(const std::string& s) {
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

}  // namespace steward::cli
