// A strict JSON reader for signed documents (root.json, release manifests). It reads the exact
// bytes that were signed and refuses anything ambiguous: duplicate keys, numbers that are not
// integers in [0, 2^53], nesting deeper than a limit, invalid UTF-8 (also in \u escapes),
// trailing data, oversize input. Errors carry the byte offset and what was wrong.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/error.hpp"

namespace steward::json {

struct Value;
using Array = std::vector<Value>;
// Members in document order; keys are unique.
using Object = std::vector<std::pair<std::string, Value>>;

struct Null {};

struct Value {
  std::variant<Null, bool, std::uint64_t, std::string, Array, Object> v;

  bool IsObject() const { return std::holds_alternative<Object>(v); }
  const Object* AsObject() const { return std::get_if<Object>(&v); }
  const Array* AsArray() const { return std::get_if<Array>(&v); }
  const std::string* AsString() const { return std::get_if<std::string>(&v); }
  const std::uint64_t* AsNumber() const { return std::get_if<std::uint64_t>(&v); }
  const bool* AsBool() const { return std::get_if<bool>(&v); }
  // The member `key` of an object, or nullptr.
  const Value* Find(std::string_view key) const;
};

// "object", "array", "string", "number", "boolean", "null".
std::string_view TypeName(const Value& value);

struct Limits {
  std::size_t max_bytes = 256 * 1024;
  std::size_t max_depth = 16;
};

inline constexpr std::uint64_t kMaxNumber = std::uint64_t{1} << 53;

// Parses `text` as one JSON value. Errors use `code`, e.g. manifest_malformed.
Result<Value> Parse(std::string_view text, ErrorCode code, const Limits& limits = {});

// True when `text` is valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool IsValidUtf8(std::string_view text);

}  // namespace steward::json
