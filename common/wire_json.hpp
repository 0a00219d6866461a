// The JSON plumbing under common/protocol.cpp, and only there: a body parsed as one object,
// its members read field by field with errors that name the field, and JSON written without
// throwing. Errors speak in the voice of the document: the sender of a request is told what a
// field must be ("field 'hostname' must be a string"); the reader of an answer hears what it
// lacks or has ("lacks releases[0].manifest", "has flags of type string, not an object").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace steward::protocol::wire {

using nlohmann::json;

// Compact JSON text; invalid UTF-8 in a string is replaced rather than thrown about.
std::string Dump(const json& j);

json OrNull(const std::string& s);  // null for ""
template <class T>
json OrNull(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

enum class Voice { request, answer };

// The body as a JSON object; `what` names a request ("enroll" body is not valid JSON).
Result<json> ParseObject(std::string_view body, Voice voice, std::string_view what = "");

// Reads the members of one JSON object. Paths name a member from the document's root
// ("components[0].last_update"). Every error is bad_request.
class Reader {
 public:
  Reader(const json& obj, Voice voice, std::string path = "");

  // A reader for the object `value`, found at `key` of this one.
  Reader At(const json& value, const std::string& key) const;
  // The member, or nullptr when it is absent or null.
  const json* Get(std::string_view key) const;
  // A message of its own about this object: "components[0]: name and channel must …".
  Error Invalid(std::string_view what) const;

  // A required string is present and not empty; an optional one reads absent as "".
  Result<std::string> String(std::string_view key, bool required = false,
                             std::size_t max_len = std::string::npos) const;
  // A whole number; past the int64 range it saturates (a peer's "forever").
  Result<std::optional<std::int64_t>> Int(std::string_view key) const;
  // A whole number that fits an int (exit codes, signals, pids).
  Result<std::optional<int>> SmallInt(std::string_view key) const;
  Result<double> Number(std::string_view key) const;  // 0 when absent
  Result<bool> Bool(std::string_view key) const;      // false when absent
  // An array or object member; nullptr when an optional one is absent.
  Result<const json*> Array(std::string_view key, bool required = false) const;
  Result<const json*> Object(std::string_view key, bool required = false) const;
  // An array of strings; absent reads as empty unless required.
  Result<std::vector<std::string>> Strings(std::string_view key, bool required = false) const;

  // Runs `read(reader)` on each object of the array at `key`, collecting what it returns.
  template <class T, class Read>
  Result<std::vector<T>> Objects(std::string_view key, bool required, Read read) const {
    auto arr = Array(key, required);
    if (!arr) return std::unexpected(arr.error());
    std::vector<T> out;
    if (*arr == nullptr) return out;
    for (std::size_t i = 0; i < (*arr)->size(); ++i) {
      const auto& item = (**arr)[i];
      const std::string where = Element(key, i);
      if (!item.is_object()) return std::unexpected(WrongType(where, item, "an object"));
      auto value = read(At(item, where));
      if (!value) return std::unexpected(value.error());
      out.push_back(std::move(*value));
    }
    return out;
  }

 private:
  static std::string Element(std::string_view key, std::size_t i);
  std::string Path(std::string_view key) const;
  std::string Prefix() const;
  Error Missing(std::string_view key) const;
  // `expected` is "a string", "an array", …
  Error WrongType(std::string_view key, const json& value, std::string_view expected) const;
  Error Empty(std::string_view key) const;
  Error TooLong(std::string_view key, std::size_t max_len) const;
  Result<const json*> Typed(std::string_view key, bool required, bool (json::*is)() const noexcept,
                            std::string_view expected) const;

  const json& obj_;
  Voice voice_;
  std::string path_;
};

}  // namespace steward::protocol::wire
