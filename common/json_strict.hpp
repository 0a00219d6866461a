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
using Member = std::pair<std::string, Value>;
// Members in document order; keys are unique. A class with its special members defined after
// Value, rather than an alias, so that Value's variant never needs Member to be complete.
class Object : public std::vector<Member> {
 public:
  Object();
  Object(const Object&);
  Object(Object&&) noexcept;
  Object& operator=(const Object&);
  Object& operator=(Object&&) noexcept;
  ~Object();
};

struct Null {};

struct Value {
  std::variant<Null, bool, std::uint64_t, std::string, Array, Object> v;

  bool IsObject() const;
  const Object* AsObject() const;
  const Array* AsArray() const;
  const std::string* AsString() const;
  const std::uint64_t* AsNumber() const;
  const bool* AsBool() const;
  // The member `key` of an object, or nullptr.
  const Value* Find(std::string_view key) const;
};

// Defined after Value is complete: std::pair<std::string, Value> needs it.
inline Object::Object() = default;
inline Object::Object(const Object&) = default;
inline Object::Object(Object&&) noexcept = default;
inline Object& Object::operator=(const Object&) = default;
inline Object& Object::operator=(Object&&) noexcept = default;
inline Object::~Object() = default;
inline bool Value::IsObject() const { return std::holds_alternative<Object>(v); }
inline const Object* Value::AsObject() const { return std::get_if<Object>(&v); }
inline const Array* Value::AsArray() const { return std::get_if<Array>(&v); }
inline const std::string* Value::AsString() const { return std::get_if<std::string>(&v); }
inline const std::uint64_t* Value::AsNumber() const { return std::get_if<std::uint64_t>(&v); }
inline const bool* Value::AsBool() const { return std::get_if<bool>(&v); }

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
