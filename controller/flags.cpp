#include "controller/flags.hpp"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "common/log.hpp"
#include "common/trust.hpp"

namespace steward::controller {

using nlohmann::json;

namespace {

Error Bad(std::string message) { return Error{ErrorCode::bad_request, std::move(message)}; }

const char* TypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    case json::value_t::null:
      return "null";
    default:
      return "a scalar";
  }
}

// The value's compact JSON text, or why it cannot be a flag value.
Result<std::string> FlagValue(const std::string& name, const json& v) {
  const std::string where = "flag '" + name + "'";
  switch (v.type()) {
    case json::value_t::boolean:
      return v.dump();
    case json::value_t::number_integer: {
      const auto n = v.get<std::int64_t>();
      if (n > kMaxFlagInteger || n < -kMaxFlagInteger) {
        return std::unexpected(Bad(where + ": integer " + v.dump() + " is outside ±2^53"));
      }
      return v.dump();
    }
    case json::value_t::number_unsigned:
      if (v.get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxFlagInteger)) {
        return std::unexpected(Bad(where + ": integer " + v.dump() + " is outside ±2^53"));
      }
      return v.dump();
    case json::value_t::number_float:
      // The parser refuses numbers that overflow a double; this keeps an infinity (which
      // would be written as null) out of every answer should that ever change.
      if (!std::isfinite(v.get<double>())) {
        return std::unexpected(Bad(where + ": the number is not finite"));
      }
      return v.dump();
    case json::value_t::string:
      if (v.get_ref<const std::string&>().size() > kMaxFlagValueBytes) {
        return std::unexpected(Bad(where + ": the string is longer than " +
                                   std::to_string(kMaxFlagValueBytes) + " bytes"));
      }
      return v.dump();
    case json::value_t::null:
      return std::unexpected(Bad(where + " is null; to remove a flag, put its name in 'unset'"));
    default:
      return std::unexpected(
          Bad(where + " must be a boolean, a number or a string, not " + TypeName(v)));
  }
}

Result<void> CheckName(const std::string& name, std::string_view where) {
  if (!IsValidFlagName(name)) {
    return std::unexpected(Bad(std::string(where) + ": flag name '" + name.substr(0, 80) +
                               "' must match [a-z0-9][a-z0-9._-]{0,63}"));
  }
  return {};
}

}  // namespace

bool IsValidFlagName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

Result<std::string> ParseFlagScope(std::string_view scope) {
  if (scope == "global") return std::string();
  constexpr std::string_view kChannel = "channel:";
  if (scope.starts_with(kChannel) && trust::IsValidName(scope.substr(kChannel.size()))) {
    return std::string(scope.substr(kChannel.size()));
  }
  return std::unexpected(Bad("unknown scope '" + std::string(scope.substr(0, 80)) +
                             "': use \"global\" or \"channel:<name>\" with a channel name "
                             "matching [a-z0-9][a-z0-9_-]{0,63}"));
}

Result<FlagChange> ParseFlagChange(std::string_view body) {
  // nlohmann keeps the last of duplicate keys; a change must say one thing, so refuse them.
  std::vector<std::set<std::string>> open;
  std::string duplicate;
  const json::parser_callback_t on_event = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      open.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      if (!open.empty()) open.pop_back();
    } else if (event == json::parse_event_t::key && !open.empty()) {
      if (!open.back().insert(parsed.get<std::string>()).second && duplicate.empty()) {
        duplicate = parsed.get<std::string>();
      }
    }
    return true;
  };
  const json doc = json::parse(body, on_event, false);
  if (doc.is_discarded()) return std::unexpected(Bad("flags body is not valid JSON"));
  if (!doc.is_object()) return std::unexpected(Bad("flags body must be a JSON object"));
  if (!duplicate.empty()) {
    return std::unexpected(Bad("duplicate key '" + duplicate.substr(0, 80) + "' in the body"));
  }
  for (const auto& [k, v] : doc.items()) {
    if (k != "scope" && k != "set" && k != "unset") {
      return std::unexpected(
          Bad("unknown field '" + k.substr(0, 80) + "'; allowed: scope, set, unset"));
    }
  }

  FlagChange change;
  const auto scope = doc.find("scope");
  if (scope == doc.end()) return std::unexpected(Bad("missing field 'scope'"));
  if (!scope->is_string()) {
    return std::unexpected(Bad("field 'scope' must be a string: \"global\" or \"channel:<name>\""));
  }
  auto channel = ParseFlagScope(scope->get_ref<const std::string&>());
  if (!channel) return std::unexpected(channel.error());
  change.channel = std::move(*channel);

  if (const auto set = doc.find("set"); set != doc.end()) {
    if (!set->is_object()) {
      return std::unexpected(Bad("field 'set' must be an object of flag names to values"));
    }
    for (const auto& [name, value] : set->items()) {
      if (auto r = CheckName(name, "set"); !r) return std::unexpected(r.error());
      auto text = FlagValue(name, value);
      if (!text) return std::unexpected(text.error());
      change.set.emplace(name, std::move(*text));
    }
  }
  if (const auto unset = doc.find("unset"); unset != doc.end()) {
    if (!unset->is_array()) {
      return std::unexpected(Bad("field 'unset' must be an array of flag names"));
    }
    for (const auto& name : *unset) {
      if (!name.is_string()) {
        return std::unexpected(
            Bad("field 'unset' must hold flag names (strings), not " + name.dump().substr(0, 80)));
      }
      const auto& n = name.get_ref<const std::string&>();
      if (auto r = CheckName(n, "unset"); !r) return std::unexpected(r.error());
      if (change.set.contains(n)) {
        return std::unexpected(Bad("flag '" + n + "' is both in 'set' and in 'unset'"));
      }
      change.unset.push_back(n);
    }
  }
  if (change.set.empty() && change.unset.empty()) {
    return std::unexpected(Bad("nothing to change: give flags in 'set' and/or names in 'unset'"));
  }
  if (change.set.size() + change.unset.size() > kMaxFlagChangeEntries) {
    return std::unexpected(
        Bad("more than " + std::to_string(kMaxFlagChangeEntries) + " flags in one change"));
  }
  return change;
}

FlagTable::FlagTable(const std::vector<FlagRecord>& rows) {
  for (const auto& r : rows) scopes_[r.channel][r.name] = r.value;
  Rebuild();
}

Result<void> FlagTable::Check(const FlagChange& change) const {
  Scope after;
  if (auto it = scopes_.find(change.channel); it != scopes_.end()) after = it->second;
  for (const auto& [name, value] : change.set) after[name] = value;
  for (const auto& name : change.unset) after.erase(name);
  const std::string scope = change.channel.empty() ? "global" : "channel:" + change.channel;
  if (after.size() > kMaxFlagsPerScope) {
    return std::unexpected(Bad("scope " + scope + " would hold " + std::to_string(after.size()) +
                               " flags; at most " + std::to_string(kMaxFlagsPerScope) +
                               " per scope"));
  }
  if (!change.channel.empty() && !after.empty() && !scopes_.contains(change.channel)) {
    const auto channels = scopes_.size() - (scopes_.contains("") ? 1 : 0);
    if (channels >= kMaxFlagChannels) {
      return std::unexpected(Bad("flags are set for " + std::to_string(channels) +
                                 " channels already; at most " + std::to_string(kMaxFlagChannels)));
    }
  }
  return {};
}

void FlagTable::Apply(const FlagChange& change) {
  auto& scope = scopes_[change.channel];
  for (const auto& [name, value] : change.set) scope[name] = value;
  for (const auto& name : change.unset) scope.erase(name);
  if (scope.empty()) scopes_.erase(change.channel);
  Rebuild();
}

std::string FlagTable::ToJson(const Scope& scope) {
  // Names are [a-z0-9._-] and values are JSON texts already: nothing to escape.
  std::string out = "{";
  for (const auto& [name, value] : scope) {
    if (out.size() > 1) out += ',';
    out += '"';
    out += name;
    out += "\":";
    out += value;
  }
  out += '}';
  return out;
}

void FlagTable::Rebuild() {
  const auto global = scopes_.find("");
  const Scope empty;
  const Scope& g = global == scopes_.end() ? empty : global->second;
  global_json_ = ToJson(g);
  channel_json_.clear();
  for (const auto& [channel, scope] : scopes_) {
    if (channel.empty()) continue;
    Scope merged = g;
    for (const auto& [name, value] : scope) merged[name] = value;
    channel_json_.emplace(channel, ToJson(merged));
  }
}

std::string FlagTable::Document() const {
  std::string out = R"({"global":)" + global_json_ + R"(,"channels":{)";
  bool first = true;
  for (const auto& [channel, scope] : scopes_) {
    if (channel.empty()) continue;
    if (!first) out += ',';
    first = false;
    out += '"' + channel + "\":" + ToJson(scope);
  }
  out += "}}";
  return out;
}

void FlagTable::AppendEffective(std::string& out,
                                std::span<const std::string_view> channels) const {
  // The common case, one channel with flags (or none): a text built at the last change.
  const std::string* only = nullptr;
  std::string_view only_channel;
  bool several = false;
  for (const auto ch : channels) {
    auto it = channel_json_.find(ch);
    if (it == channel_json_.end() || ch == only_channel) continue;
    if (only) {
      several = true;
      break;
    }
    only = &it->second;
    only_channel = ch;
  }
  if (!several) {
    out += only ? *only : global_json_;
    return;
  }
  Scope merged;
  if (auto g = scopes_.find(""); g != scopes_.end()) merged = g->second;
  for (auto ch = channels.rbegin(); ch != channels.rend(); ++ch) {  // earlier channels win
    auto it = scopes_.find(*ch);
    if (it == scopes_.end() || ch->empty()) continue;
    for (const auto& [name, value] : it->second) merged[name] = value;
  }
  out += ToJson(merged);
}

Flags::Flags(Store& store, Clock& clock) : store_(store), clock_(clock) {}

Result<void> Flags::Load() {
  auto rows = store_.ListFlags();
  if (!rows) return std::unexpected(rows.error());
  std::lock_guard lock(mu_);
  table_ = FlagTable(*rows);
  return {};
}

Result<std::string> Flags::Change(const FlagChange& change) {
  const auto now = UnixSeconds(clock_.Now());
  std::vector<FlagRecord> set;
  std::vector<FlagRecord> unset;
  for (const auto& [name, value] : change.set) set.push_back({change.channel, name, value, now});
  for (const auto& name : change.unset) unset.push_back({change.channel, name, "", now});

  std::lock_guard lock(mu_);
  if (auto r = table_.Check(change); !r) return std::unexpected(r.error());
  // The store first: what a check-in is told is always what a restarted controller tells.
  if (auto r = store_.UpdateFlags(set, unset); !r) return std::unexpected(r.error());
  table_.Apply(change);
  log::Get("controller")
      .info("flags scope={} set={} unset={}",
            change.channel.empty() ? "global" : "channel:" + change.channel, set.size(),
            unset.size());
  return table_.Document();
}

std::string Flags::Document() const {
  std::lock_guard lock(mu_);
  return table_.Document();
}

void Flags::AppendEffective(std::string& out, std::span<const std::string_view> channels) const {
  std::lock_guard lock(mu_);
  table_.AppendEffective(out, channels);
}

}  // namespace steward::controller
