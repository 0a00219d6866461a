// stewardctl's command groups. Each Add*Commands registers its subcommands on `app`; the one
// the user chose stores its work in `action`, which Main runs after parsing. Include only from
// cli/: CLI11 is a large header.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace steward::cli {

using Action = std::function<int()>;

void AddKeyCommands(CLI::App& app, Action& action);      // key generate
void AddSignCommands(CLI::App& app, Action& action);     // sign, verify
void AddRootCommands(CLI::App& app, Action& action);     // root init, root verify
void AddReleaseCommands(CLI::App& app, Action& action);  // release create|verify|publish|list
void AddTlsCommands(CLI::App& app, Action& action);      // tls init, tls issue

// Prints "stewardctl: <code>: <message>" to stderr; returns the exit code for the error.
int Report(const Error& error);

// A password from a file: its first line (without the line ending).
Result<std::string> ReadPasswordFile(const std::string& path);
// Prompts on the terminal without echo; fails (key_password) when there is no terminal.
Result<std::string> PromptPassword(const std::string& prompt);

// Reads a whole small input file (keys, signatures, manifests). Past `max_bytes` the error has
// `oversize` (e.g. sig_malformed): an oversize key or signature is a bad one.
Result<std::string> ReadInput(const std::string& path, std::size_t max_bytes,
                              ErrorCode oversize = ErrorCode::too_large);

// Splits "LABEL=VALUE"; usage error otherwise.
Result<std::pair<std::string, std::string>> SplitAssignment(const std::string& text,
                                                            std::string_view option);

// The signature files next to `file` that exist, one per label: FILE.LABEL.minisig.
std::vector<std::string> FindSignatureFiles(const std::string& file,
                                            const std::vector<std::string>& labels);

}  // namespace steward::cli
