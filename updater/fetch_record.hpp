// The resume side of a download: the record persisted next to a partial file (so a restarted
// updater continues with a Range request), the Content-Range / Content-Length answers a ranged
// transfer is checked against, and which failures leave a partial worth resuming. The transfer
// itself is in fetch.cpp; docs/fetching.md describes the record's fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace steward::updater {

inline constexpr std::string_view kRecordSchema = "steward.partial/1";
inline constexpr std::size_t kMaxRecordBytes = 64 * 1024;

// What lets a restarted updater continue a download: persisted next to the partial file.
struct ResumeRecord {
  std::string url;
  std::uint64_t size = 0;
  std::string sha256;
  std::uint64_t offset = 0;  // bytes of the partial file that belong to the artifact
  std::string etag;
  std::string last_modified;

  std::string ToJson() const;
};

// resume_invalid when a field is missing, has a wrong type, or the offset is past the size.
Result<ResumeRecord> ParseRecord(std::string_view text);

// "bytes 100-999/1000" -> first byte and total (nullopt total for "*").
struct ContentRange {
  std::uint64_t first = 0;
  std::optional<std::uint64_t> total;
};
std::optional<ContentRange> ParseContentRange(std::string_view v);
// A Content-Length value; nullopt when empty or not a plain number.
std::optional<std::uint64_t> ParseLength(std::string_view v);

// A failure after which the partial file and its record are kept for a later resume.
bool Resumable(ErrorCode code);

}  // namespace steward::updater
