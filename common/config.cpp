#include "common/config.hpp"

#include <toml++/toml.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "common/duration.hpp"

namespace steward::config {

struct Context {
  std::string file;
  toml::table root;
  std::optional<Error> first_error;
  struct Visited {
    const toml::table* table;
    std::string path;
    std::set<std::string, std::less<>> asked;
  };
  std::vector<Visited> visited;

  void Record(Error e) {
    if (!first_error) first_error = std::move(e);
  }
  Visited& Visit(const toml::table* table, const std::string& path) {
    for (auto& v : visited) {
      if (v.table == table) return v;
    }
    return visited.emplace_back(Visited{table, path, {}});
  }
};

namespace {

const toml::table* AsTable(const void* p) { return static_cast<const toml::table*>(p); }
const toml::node* AsNode(const void* p) { return static_cast<const toml::node*>(p); }

std::string Describe(const toml::node& node) {
  std::ostringstream out;
  if (node.is_string()) {
    out << '"' << node.as_string()->get() << '"';
  } else if (node.is_table()) {
    out << "a table";
  } else if (node.is_array()) {
    out << "an array";
  } else {
    node.visit([&](const auto& v) { out << v; });
  }
  return out.str();
}

std::string Where(const toml::node& node) {
  const auto& src = node.source();
  if (src.begin.line == 0) return "";
  return " (line " + std::to_string(src.begin.line) + ")";
}

}  // namespace

Section::Section(std::shared_ptr<Context> ctx, const void* table, std::string path)
    : ctx_(std::move(ctx)), table_(table), path_(std::move(path)) {
  ctx_->Visit(AsTable(table_), path_);
}

std::string Section::Path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const void* Section::Lookup(std::string_view key) {
  ctx_->Visit(AsTable(table_), path_).asked.emplace(key);
  return AsTable(table_)->get(key);
}

bool Section::Has(std::string_view key) const { return AsTable(table_)->contains(key); }

void Section::Invalid(std::string_view key, std::string_view why) {
  std::string msg = ctx_->file + ": key '" + Path(key) + "'";
  if (const toml::node* node = AsTable(table_)->get(key)) {
    msg += Where(*node) + " has value " + Describe(*node);
  }
  msg += ": " + std::string(why);
  ctx_->Record(Error{ErrorCode::config_invalid, std::move(msg)});
}

void Section::TypeError(std::string_view key, const void* node, std::string_view expected) {
  ctx_->Record(Error{ErrorCode::config_invalid, ctx_->file + ": key '" + Path(key) + "'" +
                                                    Where(*AsNode(node)) + " has value " +
                                                    Describe(*AsNode(node)) + ": expected " +
                                                    std::string(expected)});
}

void Section::Get(std::string_view key, std::string& out) {
  const auto* node = AsNode(Lookup(key));
  if (node == nullptr) return;
  if (const auto* s = node->as_string()) {
    out = s->get();
  } else {
    TypeError(key, node, "a string");
  }
}

void Section::Get(std::string_view key, bool& out) {
  const auto* node = AsNode(Lookup(key));
  if (node == nullptr) return;
  if (const auto* b = node->as_boolean()) {
    out = b->get();
  } else {
    TypeError(key, node, "true or false");
  }
}

void Section::Get(std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max) {
  const auto* node = AsNode(Lookup(key));
  if (node == nullptr) return;
  const auto* i = node->as_integer();
  const std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (i == nullptr) return TypeError(key, node, range);
  if (i->get() < min || i->get() > max) return Invalid(key, "out of range; allowed: " + range);
  out = i->get();
}

void Section::Get(std::string_view key, double& out, double min, double max) {
  const auto* node = AsNode(Lookup(key));
  if (node == nullptr) return;
  std::ostringstream range;
  range << "a number from " << min << " to " << max;
  double v = 0;
  if (const auto* f = node->as_floating_point()) {
    v = f->get();
  } else if (const auto* i = node->as_integer()) {
    v = static_cast<double>(i->get());
  } else {
    return TypeError(key, node, range.str());
  }
  if (!std::isfinite(v) || v < min || v > max) {
    return Invalid(key, "out of range; allowed: " + range.str());
  }
  out = v;
}

void Section::Get(std::string_view key, Duration& out, Duration min, Duration max) {
  const auto* node = AsNode(Lookup(key));
  if (node == nullptr) return;
  const auto* s = node->as_string();
  if (s == nullptr) return TypeError(key, node, "a duration string such as \"90s\" or \"10m\"");
  auto d = ParseDuration(s->get());
  if (!d) return Invalid(key, d.error().message);
  if (*d < min || *d > max) {
    return Invalid(
        key, "out of range; allowed: from " + FormatDuration(min) + " to " + FormatDuration(max));
  }
  out = *d;
}

void Section::Get(std::string_view key, std::vector<std::string>& out) {
  const auto* node = AsNode(Lookup(key));
  if (node == nullptr) return;
  const auto* arr = node->as_array();
  if (arr == nullptr) return TypeError(key, node, "an array of strings");
  std::vector<std::string> values;
  for (const auto& item : *arr) {
    const auto* s = item.as_string();
    if (s == nullptr) return TypeError(key, &item, "an array of strings");
    values.push_back(s->get());
  }
  out = std::move(values);
}

void Section::Get(std::string_view key, std::map<std::string, std::string>& out) {
  const auto* node = AsNode(Lookup(key));
  if (node == nullptr) return;
  const auto* tbl = node->as_table();
  if (tbl == nullptr) return TypeError(key, node, "a table of strings, e.g. { NAME = \"value\" }");
  std::map<std::string, std::string> values;
  for (const auto& [k, v] : *tbl) {
    const auto* s = v.as_string();
    if (s == nullptr) return TypeError(key, &v, "a table of strings");
    values.emplace(std::string(k.str()), s->get());
  }
  out = std::move(values);
}

void Section::GetEnum(std::string_view key, std::string& out,
                      std::initializer_list<std::string_view> allowed) {
  std::string value = out;
  Get(key, value);
  if (!Has(key)) return;
  for (const auto a : allowed) {
    if (a == value) {
      out = value;
      return;
    }
  }
  std::string list;
  for (const auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  Invalid(key, "allowed: " + list);
}

std::optional<Section> Section::Table(std::string_view key) {
  const auto* node = AsNode(Lookup(key));
  if (node == nullptr) return std::nullopt;
  if (const auto* tbl = node->as_table()) return Section(ctx_, tbl, Path(key));
  TypeError(key, node, "a table");
  return std::nullopt;
}

std::vector<Section> Section::TableArray(std::string_view key) {
  std::vector<Section> out;
  const auto* node = AsNode(Lookup(key));
  if (node == nullptr) return out;
  const auto* arr = node->as_array();
  if (arr == nullptr) {
    TypeError(key, node, "an array of tables ([[" + std::string(key) + "]])");
    return out;
  }
  std::size_t index = 0;
  for (const auto& item : *arr) {
    const auto* tbl = item.as_table();
    if (tbl == nullptr) {
      TypeError(key, &item, "an array of tables ([[" + std::string(key) + "]])");
      return {};
    }
    out.push_back(Section(ctx_, tbl, Path(key) + "[" + std::to_string(index++) + "]"));
  }
  return out;
}

namespace {

// toml++ 3.3.0 (Debian bookworm's) reaches __builtin_unreachable() -- undefined behaviour --
// when it meets some non-ASCII characters (U+00A1..U+0499, found by fuzzing) where TOML allows
// only ASCII, i.e. outside strings and comments. Such a file is refused here before the
// parser sees it: the line of the first such character, if any.
std::optional<std::size_t> LineOfStrayNonAscii(std::string_view t) {
  if (t.starts_with("\xEF\xBB\xBF")) t.remove_prefix(3);  // a byte-order mark
  enum class In { plain, comment, basic, literal, multi_basic, multi_literal } in = In::plain;
  std::size_t line = 1;
  const auto at = [&](std::size_t i, std::string_view s) { return t.substr(i, s.size()) == s; };
  for (std::size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '\n') {
      ++line;
      // A newline ends a comment; in a one-line string it is the parser's error to report.
      if (in == In::comment || in == In::basic || in == In::literal) in = In::plain;
      continue;
    }
    switch (in) {
      case In::plain:
        if (static_cast<unsigned char>(c) >= 0x80) return line;
        if (c == '#') {
          in = In::comment;
        } else if (at(i, R"(""")") || at(i, "'''")) {
          in = c == '"' ? In::multi_basic : In::multi_literal;
          i += 2;
        } else if (c == '"' || c == '\'') {
          in = c == '"' ? In::basic : In::literal;
        }
        break;
      case In::basic:
      case In::multi_basic:
        if (c == '\\' && i + 1 < t.size() && t[i + 1] != '\n') {
          ++i;  // an escaped character, perhaps a quote
        } else if (in == In::basic && c == '"') {
          in = In::plain;
        } else if (in == In::multi_basic && at(i, R"(""")")) {
          in = In::plain;
          i += 2;
        }
        break;
      case In::literal:
        if (c == '\'') in = In::plain;
        break;
      case In::multi_literal:
        if (at(i, "'''")) {
          in = In::plain;
          i += 2;
        }
        break;
      case In::comment:
        break;
    }
  }
  return std::nullopt;
}

}  // namespace

Document::Document(std::shared_ptr<Context> ctx) : ctx_(std::move(ctx)) {}
Document::Document(Document&&) noexcept = default;
Document& Document::operator=(Document&&) noexcept = default;
Document::~Document() = default;

Result<Document> Document::Parse(std::string_view text, std::string name) {
  if (text.find('\0') != std::string_view::npos) {
    return Fail(ErrorCode::config_parse, name + ": contains a NUL byte; not a TOML text file");
  }
  if (auto line = LineOfStrayNonAscii(text)) {
    return Fail(ErrorCode::config_parse,
                name + ":" + std::to_string(*line) +
                    ": invalid TOML: a non-ASCII character outside a quoted string or a comment "
                    "(keys with such characters must be quoted)");
  }
  auto ctx = std::make_shared<Context>();
  ctx->file = std::move(name);
  // Debian's toml++ is built with exceptions: a parse error throws.
  try {
    ctx->root = toml::parse(text, ctx->file);
  } catch (const toml::parse_error& err) {
    return Fail(ErrorCode::config_parse, ctx->file + ":" + std::to_string(err.source().begin.line) +
                                             ":" + std::to_string(err.source().begin.column) +
                                             ": invalid TOML: " + std::string(err.description()));
  }
  return Document(std::move(ctx));
}

Result<Document> Document::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Fail(ErrorCode::config_unreadable, "cannot read config file " + path + ": " +
                                                  std::strerror(errno) +
                                                  "; check the path and its permissions");
  }
  constexpr std::size_t kMaxConfig = 1 << 20;
  std::string text(kMaxConfig + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    return Fail(ErrorCode::config_unreadable, "cannot read config file " + path);
  }
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxConfig) {
    return Fail(ErrorCode::config_parse, path + ": larger than 1 MiB; not a config file");
  }
  return Parse(text, path);
}

Section Document::Root() { return Section(ctx_, &ctx_->root, ""); }

Result<void> Document::Finish() {
  if (ctx_->first_error) return std::unexpected(*ctx_->first_error);
  for (const auto& v : ctx_->visited) {
    for (const auto& [k, node] : *v.table) {
      if (v.asked.contains(k.str())) continue;
      std::string allowed;
      for (const auto& a : v.asked) allowed += (allowed.empty() ? "" : ", ") + a;
      const std::string path =
          v.path.empty() ? std::string(k.str()) : v.path + "." + std::string(k.str());
      return Fail(ErrorCode::config_invalid,
                  ctx_->file + ": unknown key '" + path + "'" + Where(node) +
                      "; allowed here: " + (allowed.empty() ? "none" : allowed));
    }
  }
  return {};
}

}  // namespace steward::config
