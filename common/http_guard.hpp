// What keeps one misbehaving source from taking the HTTP server from the others
// (docs/security.md, "Floods and slow clients"): open connections counted per source, the
// default connection limit from the open-file limit, and a log of what was shed that cannot
// be flooded itself. Used by common/http_server.cpp only.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "common/http_server.hpp"

namespace steward::http {

// Open connections by source (an IP address, or "uid N" on unix sockets). Not thread-safe:
// the server calls it under its own lock.
class SourceCounts {
 public:
  // Counts one more connection from `source` unless it already has `cap`.
  bool Add(const std::string& source, std::size_t cap);
  void Remove(const std::string& source);

 private:
  std::map<std::string, std::size_t> open_;
};

// Connections shed, logged by the `http` logger at most once a second with the counts since
// the last line.
class ShedLog {
 public:
  void Add(std::string_view address, std::string_view why, std::size_t n);

 private:
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_{};
  std::map<std::string, std::size_t> counts_;
};

// `options` with max_connections = 0 replaced by 7/8 of the open-file limit, leaving room for
// the program's own files.
ServerOptions WithLimits(ServerOptions options);

}  // namespace steward::http
