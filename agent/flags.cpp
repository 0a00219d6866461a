#include "agent/flags.hpp"

#include <nlohmann/json.hpp>

#include "common/files.hpp"

namespace steward::agent {

namespace {

using json = nlohmann::json;

Result<void> ReadBool(const json& doc, std::string_view name, const char* key, bool& out) {
  const auto it = doc.find(key);
  if (it == doc.end()) return {};
  if (!it->is_boolean()) {
    return Fail(ErrorCode::config_invalid, std::string(name) + ": flag '" + key +
                                               "' must be true or false, not " + it->dump());
  }
  out = it->get<bool>();
  return {};
}

}  // namespace

std::string Flags::ToJson() const {
  json j = json::object();
  for (const auto& [k, v] : values) j[k] = json::parse(v, nullptr, false);
  j["console.embedded"] = console_embedded;
  j["console.standalone"] = console_standalone;
  return j.dump();
}

Result<Flags> ParseFlags(std::string_view text, std::string_view name) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Fail(ErrorCode::config_parse,
                std::string(name) + ": not valid JSON; expected an object of flag -> value");
  }
  if (!doc.is_object()) {
    return Fail(ErrorCode::config_parse, std::string(name) + ": expected a JSON object of flag " +
                                             "-> value, found " + doc.type_name());
  }
  Flags flags;
  if (auto r = ReadBool(doc, name, "console.embedded", flags.console_embedded); !r)
    return std::unexpected(r.error());
  if (auto r = ReadBool(doc, name, "console.standalone", flags.console_standalone); !r)
    return std::unexpected(r.error());
  for (const auto& [k, v] : doc.items()) {
    flags.values[k] = v.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return flags;
}

Result<Flags> LoadFlags(const std::string& path) {
  if (path.empty()) return Flags{};
  auto text = files::ReadFile(path, kMaxFlagsBytes);
  if (!text && text.error().code == ErrorCode::not_found) return Flags{};
  if (!text) return std::unexpected(text.error().Wrap("flags file"));
  return ParseFlags(*text, path);
}

}  // namespace steward::agent
