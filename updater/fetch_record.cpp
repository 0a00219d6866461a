#include "updater/fetch_record.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "common/json_strict.hpp"

namespace steward::updater {

namespace {

// TLS failures were http_transport before they had codes of their own; the bytes kept are
// hashed at the end whatever server they came from.
bool IsTlsFailure(ErrorCode code) {
  return code == ErrorCode::tls_untrusted || code == ErrorCode::tls_hostname ||
         code == ErrorCode::tls_expired || code == ErrorCode::tls_handshake ||
         code == ErrorCode::tls_ca_file;
}

}  // namespace

std::string ResumeRecord::ToJson() const {
  // Bytes that are not UTF-8 (a server's ETag may hold any) are replaced, so the record
  // always parses; such a validator then no longer matches and the download starts over.
  const nlohmann::json j{{"schema", kRecordSchema},
                         {"url", url},
                         {"size", size},
                         {"sha256", sha256},
                         {"offset", offset},
                         {"etag", etag},
                         {"last_modified", last_modified}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<ResumeRecord> ParseRecord(std::string_view text) {
  auto v = json::Parse(text, ErrorCode::resume_invalid, {kMaxRecordBytes, 4});
  if (!v) return std::unexpected(v.error());
  ResumeRecord r;
  auto str = [&](std::string_view key, std::string& out) -> bool {
    const json::Value* m = v->Find(key);
    if (m == nullptr || m->AsString() == nullptr) return false;
    out = *m->AsString();
    return true;
  };
  auto num = [&](std::string_view key, std::uint64_t& out) -> bool {
    const json::Value* m = v->Find(key);
    if (m == nullptr || m->AsNumber() == nullptr) return false;
    out = *m->AsNumber();
    return true;
  };
  std::string schema;
  if (!str("schema", schema) || schema != kRecordSchema || !str("url", r.url) ||
      !num("size", r.size) || !str("sha256", r.sha256) || !num("offset", r.offset) ||
      !str("etag", r.etag) || !str("last_modified", r.last_modified)) {
    return Fail(ErrorCode::resume_invalid, "resume record lacks a field or has a wrong type");
  }
  if (r.offset > r.size) {
    return Fail(ErrorCode::resume_invalid, "resume record offset is past the artifact's size");
  }
  return r;
}

std::optional<ContentRange> ParseContentRange(std::string_view v) {
  if (!v.starts_with("bytes ")) return std::nullopt;
  v.remove_prefix(6);
  ContentRange cr;
  const auto dash = v.find('-');
  const auto slash = v.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) {
    return std::nullopt;
  }
  const auto first = v.substr(0, dash);
  if (std::from_chars(first.data(), first.data() + first.size(), cr.first).ec != std::errc{}) {
    return std::nullopt;
  }
  const auto total = v.substr(slash + 1);
  if (total != "*") {
    std::uint64_t t = 0;
    const auto res = std::from_chars(total.data(), total.data() + total.size(), t);
    if (res.ec != std::errc{} || res.ptr != total.data() + total.size()) return std::nullopt;
    cr.total = t;
  }
  return cr;
}

std::optional<std::uint64_t> ParseLength(std::string_view v) {
  if (v.empty()) return std::nullopt;
  std::uint64_t n = 0;
  const auto res = std::from_chars(v.data(), v.data() + v.size(), n);
  if (res.ec != std::errc{} || res.ptr != v.data() + v.size()) return std::nullopt;
  return n;
}

bool Resumable(ErrorCode code) {
  return code == ErrorCode::http_truncated || code == ErrorCode::http_stalled ||
         code == ErrorCode::http_transport || code == ErrorCode::timeout ||
         code == ErrorCode::cancelled || IsTlsFailure(code);
}

}  // namespace steward::updater
