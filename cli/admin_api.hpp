// stewardctl as a client of the controller's admin API (docs/protocol.md): where the
// controller is (--controller or STEWARD_CONTROLLER), the admin token (--token-file or
// STEWARD_TOKEN), the CA of an https controller (--ca-file or STEWARD_CA_FILE), one call, and
// the table its answers are printed in. Include only from cli/.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace CLI {
class App;
}

namespace steward::cli {

struct Connection {
  std::string controller;
  std::string token_file;
  std::string ca_file;  // for https controllers with the fleet's own CA
};

// Adds --controller, --token-file and --ca-file to `sub`.
void AddConnectionOptions(CLI::App& sub, Connection& conn);

// Sends the request; a controller's error answer becomes an Error with its code and message.
Result<nlohmann::json> Call(const Connection& conn, const std::string& method,
                            const std::string& path, const std::string& body = "");

// A member for a table cell: "-" when absent or null, strings bare, 25.0 as "25".
std::string Cell(const nlohmann::json& j, const char* key);

// Prints rows in columns two spaces apart; the first row is the header.
void PrintTable(const std::vector<std::vector<std::string>>& rows);

// Percent-encodes everything but [A-Za-z0-9._-], for a path segment or a query value.
std::string UrlEncode(const std::string& s);

}  // namespace steward::cli
