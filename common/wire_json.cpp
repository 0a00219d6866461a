// The JSON plumbing of the wire messages (see wire_json.hpp).
#include "common/wire_json.hpp"

#include <limits>
#include <utility>

#include "common/protocol.hpp"

namespace steward::protocol::wire {

namespace {

Error BadRequest(std::string message) { return Error{ErrorCode::bad_request, std::move(message)}; }

}  // namespace

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json OrNull(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

Result<json> ParseObject(std::string_view body, Voice voice, std::string_view what) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) {
    if (voice == Voice::request)
      return Fail(ErrorCode::bad_request, std::string(what) + " body is not valid JSON");
    return Fail(ErrorCode::bad_request, "is not JSON (starts \"" + BodySnippet(body) + "\")");
  }
  if (!doc.is_object()) {
    if (voice == Voice::request) {
      return Fail(ErrorCode::bad_request, std::string(what) + " body must be a JSON object");
    }
    return Fail(ErrorCode::bad_request,
                std::string("is a JSON ") + doc.type_name() + ", not an object");
  }
  return doc;
}

Reader::Reader(const json& obj, Voice voice, std::string path)
    : obj_(obj), voice_(voice), path_(std::move(path)) {}

Reader Reader::At(const json& value, const std::string& key) const {
  return Reader(value, voice_, Path(key));
}

const json* Reader::Get(std::string_view key) const {
  auto it = obj_.find(key);
  return it == obj_.end() || it->is_null() ? nullptr : &*it;
}

Error Reader::Invalid(std::string_view what) const {
  return BadRequest(Prefix() + std::string(what));
}

Result<std::string> Reader::String(std::string_view key, bool required, std::size_t max_len) const {
  const json* v = Get(key);
  if (v == nullptr) {
    if (required) return std::unexpected(Missing(key));
    return std::string();
  }
  if (!v->is_string()) return std::unexpected(WrongType(key, *v, "a string"));
  auto s = v->get<std::string>();
  if (s.size() > max_len) return std::unexpected(TooLong(key, max_len));
  if (required && s.empty()) return std::unexpected(Empty(key));
  return s;
}

Result<std::optional<std::int64_t>> Reader::Int(std::string_view key) const {
  const json* v = Get(key);
  if (v == nullptr) return std::optional<std::int64_t>();
  if (!v->is_number_integer()) return std::unexpected(WrongType(key, *v, "an integer"));
  if (v->is_number_unsigned()) {
    constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
    const auto u = v->get<std::uint64_t>();
    return u > static_cast<std::uint64_t>(kMax) ? kMax : static_cast<std::int64_t>(u);
  }
  return v->get<std::int64_t>();
}

Result<std::optional<int>> Reader::SmallInt(std::string_view key) const {
  auto n = Int(key);
  if (!n) return std::unexpected(n.error());
  if (!*n) return std::optional<int>();
  if (**n < std::numeric_limits<int>::min() || **n > std::numeric_limits<int>::max()) {
    return std::unexpected(WrongType(key, *Get(key), "a 32-bit integer"));
  }
  return static_cast<int>(**n);
}

Result<double> Reader::Number(std::string_view key) const {
  const json* v = Get(key);
  if (v == nullptr) return 0.0;
  if (!v->is_number()) return std::unexpected(WrongType(key, *v, "a number"));
  return v->get<double>();
}

Result<bool> Reader::Bool(std::string_view key) const {
  const json* v = Get(key);
  if (v == nullptr) return false;
  if (!v->is_boolean()) return std::unexpected(WrongType(key, *v, "a boolean"));
  return v->get<bool>();
}

Result<const json*> Reader::Array(std::string_view key, bool required) const {
  return Typed(key, required, &json::is_array, "an array");
}

Result<const json*> Reader::Object(std::string_view key, bool required) const {
  return Typed(key, required, &json::is_object, "an object");
}

Result<std::vector<std::string>> Reader::Strings(std::string_view key, bool required) const {
  auto arr = Array(key, required);
  if (!arr) return std::unexpected(arr.error());
  std::vector<std::string> out;
  if (*arr == nullptr) return out;
  for (std::size_t i = 0; i < (*arr)->size(); ++i) {
    const auto& s = (**arr)[i];
    if (!s.is_string()) return std::unexpected(WrongType(Element(key, i), s, "a string"));
    out.push_back(s.get<std::string>());
  }
  return out;
}

std::string Reader::Element(std::string_view key, std::size_t i) {
  return std::string(key) + "[" + std::to_string(i) + "]";
}

std::string Reader::Path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

std::string Reader::Prefix() const { return path_.empty() ? "" : path_ + ": "; }

Error Reader::Missing(std::string_view key) const {
  if (voice_ == Voice::request) {
    return BadRequest(Prefix() + "missing field '" + std::string(key) + "'");
  }
  return BadRequest("lacks " + Path(key));
}

Error Reader::WrongType(std::string_view key, const json& value, std::string_view expected) const {
  if (voice_ == Voice::request) {
    return BadRequest(Prefix() + "field '" + std::string(key) + "' must be " +
                      std::string(expected));
  }
  return BadRequest("has " + Path(key) + " of type " + value.type_name() + ", not " +
                    std::string(expected));
}

Error Reader::Empty(std::string_view key) const {
  if (voice_ == Voice::request) {
    return BadRequest(Prefix() + "field '" + std::string(key) + "' must not be empty");
  }
  return BadRequest("has an empty " + Path(key));
}

Error Reader::TooLong(std::string_view key, std::size_t max_len) const {
  const std::string limit = std::to_string(max_len) + " bytes";
  if (voice_ == Voice::request) {
    return BadRequest(Prefix() + "field '" + std::string(key) + "' is longer than " + limit);
  }
  return BadRequest("has " + Path(key) + " longer than " + limit);
}

Result<const json*> Reader::Typed(std::string_view key, bool required,
                                  bool (json::*is)() const noexcept,
                                  std::string_view expected) const {
  const json* v = Get(key);
  if (v == nullptr) {
    if (required) return std::unexpected(Missing(key));
    return nullptr;
  }
  if (!(v->*is)()) return std::unexpected(WrongType(key, *v, expected));
  return v;
}

}  // namespace steward::protocol::wire
