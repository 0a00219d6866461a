// Reading TOML config files (toml++) into plain structs. A program's Load walks Sections with
// typed Get calls; the first problem is kept and returned by Document::Finish, naming the file,
// the key, the bad value and what is allowed. Unknown keys are errors, so typos are not ignored.
//
//   auto doc = config::Document::Load(path);            // parse errors: file:line:col
//   config::Section root = doc->Root();
//   root.Get("state_dir", cfg.state_dir);
//   root.Get("checkin_interval", cfg.interval, Duration{1s}, Duration{24h});
//   return doc->Finish();                               // first error, or unknown keys
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"

namespace steward::config {

struct Context;

class Section {
 public:
  // Absent keys leave `out` (the default) untouched.
  void Get(std::string_view key, std::string& out);
  void Get(std::string_view key, bool& out);
  void Get(std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max);
  void Get(std::string_view key, double& out, double min, double max);
  void Get(std::string_view key, Duration& out, Duration min, Duration max);
  void Get(std::string_view key, std::vector<std::string>& out);
  void Get(std::string_view key, std::map<std::string, std::string>& out);
  // A string that must be one of `allowed`.
  void GetEnum(std::string_view key, std::string& out,
               std::initializer_list<std::string_view> allowed);

  bool Has(std::string_view key) const;
  // A sub-table ([controller]); nullopt when absent or not a table (the latter is an error).
  std::optional<Section> Table(std::string_view key);
  // An array of tables ([[component]]).
  std::vector<Section> TableArray(std::string_view key);

  // Records an error about `key` found by the caller's own validation.
  void Invalid(std::string_view key, std::string_view why);
  // The dotted path of a key in this section, for messages: "component[1].name".
  std::string Path(std::string_view key) const;

 private:
  friend class Document;
  Section(std::shared_ptr<Context> ctx, const void* table, std::string path);
  const void* Lookup(std::string_view key);
  void TypeError(std::string_view key, const void* node, std::string_view expected);

  std::shared_ptr<Context> ctx_;
  const void* table_;  // const toml::table*, kept out of this header
  std::string path_;
};

class Document {
 public:
  static Result<Document> Load(const std::string& path);
  static Result<Document> Parse(std::string_view text, std::string name);
  Document(Document&&) noexcept;
  Document& operator=(Document&&) noexcept;
  ~Document();

  Section Root();
  // The first error recorded by any Section, else the first key that no Get consumed.
  Result<void> Finish();

 private:
  explicit Document(std::shared_ptr<Context> ctx);
  std::shared_ptr<Context> ctx_;
};

}  // namespace steward::config
