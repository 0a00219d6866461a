#include "common/json_strict.hpp"

#include <set>

namespace steward::json {

const Value* Value::Find(std::string_view key) const {
  const auto* obj = AsObject();
  if (obj == nullptr) return nullptr;
  for (const auto& [k, val] : *obj) {
    if (k == key) return &val;
  }
  return nullptr;
}

std::string_view TypeName(const Value& value) {
  switch (value.v.index()) {
    case 0:
      return "null";
    case 1:
      return "boolean";
    case 2:
      return "number";
    case 3:
      return "string";
    case 4:
      return "array";
    default:
      return "object";
  }
}

namespace {

// Length of the UTF-8 sequence starting at s[i], or 0 when invalid.
std::size_t Utf8SeqLen(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  std::uint32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1Fu;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0Fu;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07u;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return 0;
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

void AppendUtf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class Parser {
 public:
  Parser(std::string_view text, ErrorCode code, const Limits& limits)
      : s_(text), code_(code), limits_(limits) {}

  Result<Value> Run() {
    if (s_.size() > limits_.max_bytes) {
      return Fail(code_, "JSON document is " + std::to_string(s_.size()) +
                             " bytes, over the limit of " + std::to_string(limits_.max_bytes));
    }
    SkipWs();
    Value v;
    if (!ParseValue(v, 0)) return std::unexpected(err_);
    SkipWs();
    if (pos_ != s_.size()) return Bad("unexpected data after the JSON value");
    return v;
  }

 private:
  std::unexpected<Error> Bad(std::string_view what) {
    SetError(what);
    return std::unexpected(err_);
  }
  bool SetError(std::string_view what) {
    err_ = Error{code_, "invalid JSON at byte " + std::to_string(pos_) + ": " + std::string(what)};
    return false;
  }

  void SkipWs() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return SetError("unknown literal");
    pos_ += word.size();
    return true;
  }

  bool ParseValue(Value& out, std::size_t depth) {
    if (pos_ >= s_.size()) return SetError("unexpected end of input");
    switch (s_[pos_]) {
      case '{':
        return ParseObject(out, depth + 1);
      case '[':
        return ParseArray(out, depth + 1);
      case '"': {
        std::string str;
        if (!ParseString(str)) return false;
        out.v = std::move(str);
        return true;
      }
      case 't':
        out.v = true;
        return Literal("true");
      case 'f':
        out.v = false;
        return Literal("false");
      case 'n':
        out.v = Null{};
        return Literal("null");
      default:
        return ParseNumber(out);
    }
  }

  bool ParseNumber(Value& out) {
    if (s_[pos_] == '-') return SetError("negative numbers are not allowed (range is 0 to 2^53)");
    if (s_[pos_] < '0' || s_[pos_] > '9') return SetError("expected a value");
    if (s_[pos_] == '0' && pos_ + 1 < s_.size() && s_[pos_ + 1] >= '0' && s_[pos_ + 1] <= '9') {
      return SetError("numbers must not have leading zeros");
    }
    std::uint64_t n = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      n = n * 10 + static_cast<std::uint64_t>(s_[pos_] - '0');
      if (n > kMaxNumber) return SetError("number is larger than 2^53");
      ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E')) {
      return SetError("only whole numbers are allowed");
    }
    out.v = n;
    return true;
  }

  bool ParseHex4(std::uint32_t& cp) {
    if (pos_ + 4 > s_.size()) return SetError("truncated \\u escape");
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      std::uint32_t d = 0;
      if (c >= '0' && c <= '9') {
        d = static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        d = static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        d = static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return SetError("bad hex digit in \\u escape");
      }
      cp = (cp << 4) | d;
    }
    return true;
  }

  bool ParseString(std::string& out) {
    ++pos_;  // opening quote
    for (;;) {
      if (pos_ >= s_.size()) return SetError("unterminated string");
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return SetError("control character in string (escape it)");
      if (c == '\\') {
        if (++pos_ >= s_.size()) return SetError("unterminated escape");
        const char e = s_[pos_++];
        switch (e) {
          case '"':
            out.push_back('"');
            break;
          case '\\':
            out.push_back('\\');
            break;
          case '/':
            out.push_back('/');
            break;
          case 'b':
            out.push_back('\b');
            break;
          case 'f':
            out.push_back('\f');
            break;
          case 'n':
            out.push_back('\n');
            break;
          case 'r':
            out.push_back('\r');
            break;
          case 't':
            out.push_back('\t');
            break;
          case 'u': {
            std::uint32_t cp = 0;
            if (!ParseHex4(cp)) return false;
            if (cp >= 0xDC00 && cp <= 0xDFFF) return SetError("lone low surrogate in \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              std::uint32_t lo = 0;
              if (s_.substr(pos_, 2) != "\\u") return SetError("lone high surrogate in \\u escape");
              pos_ += 2;
              if (!ParseHex4(lo)) return false;
              if (lo < 0xDC00 || lo > 0xDFFF) return SetError("bad surrogate pair in \\u escape");
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp == 0) return SetError("NUL character in string");
            AppendUtf8(out, cp);
            break;
          }
          default:
            return SetError("unknown escape in string");
        }
        continue;
      }
      const std::size_t len = Utf8SeqLen(s_, pos_);
      if (len == 0) return SetError("invalid UTF-8 in string");
      out.append(s_.substr(pos_, len));
      pos_ += len;
    }
  }

  bool ParseArray(Value& out, std::size_t depth) {
    if (depth > limits_.max_depth) return SetError("nesting is deeper than the limit");
    ++pos_;
    Array arr;
    SkipWs();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      out.v = std::move(arr);
      return true;
    }
    for (;;) {
      SkipWs();
      Value item;
      if (!ParseValue(item, depth)) return false;
      arr.push_back(std::move(item));
      SkipWs();
      if (pos_ >= s_.size()) return SetError("unterminated array");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        out.v = std::move(arr);
        return true;
      }
      return SetError("expected ',' or ']' in array");
    }
  }

  bool ParseObject(Value& out, std::size_t depth) {
    if (depth > limits_.max_depth) return SetError("nesting is deeper than the limit");
    ++pos_;
    Object obj;
    std::set<std::string> keys;
    SkipWs();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      out.v = std::move(obj);
      return true;
    }
    for (;;) {
      SkipWs();
      if (pos_ >= s_.size() || s_[pos_] != '"') return SetError("expected a string key in object");
      const std::size_t key_pos = pos_;
      std::string key;
      if (!ParseString(key)) return false;
      if (!keys.insert(key).second) {
        pos_ = key_pos;
        return SetError("duplicate key \"" + key.substr(0, 64) + "\"");
      }
      SkipWs();
      if (pos_ >= s_.size() || s_[pos_] != ':') return SetError("expected ':' after key");
      ++pos_;
      SkipWs();
      Value val;
      if (!ParseValue(val, depth)) return false;
      obj.emplace_back(std::move(key), std::move(val));
      SkipWs();
      if (pos_ >= s_.size()) return SetError("unterminated object");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        out.v = std::move(obj);
        return true;
      }
      return SetError("expected ',' or '}' in object");
    }
  }

  std::string_view s_;
  ErrorCode code_;
  Limits limits_;
  std::size_t pos_ = 0;
  Error err_;
};

}  // namespace

Result<Value> Parse(std::string_view text, ErrorCode code, const Limits& limits) {
  return Parser(text, code, limits).Run();
}

bool IsValidUtf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t len = Utf8SeqLen(text, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

}  // namespace steward::json
