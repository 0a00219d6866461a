// What the HTTP helper protocol (http_helper.cpp) needs of the platform: a byte stream between
// a client and its helper process, and starting the helper with the other end of it. The POSIX
// way is http_helper_posix.cpp: a unix stream socketpair, the helper's end on its fd 3,
// posix_spawn. The stream is a files::UniqueFd, the handle type every module of ours uses.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/files.hpp"

namespace steward::http::helper {

enum class ReadStatus { ok, eof, timeout, error };

// Writes all of `data`; false when the other end is gone.
bool WriteAll(int fd, std::string_view data);

// Reads exactly n bytes, waiting at most `wait_ms` for each piece (negative: forever). Waits
// only when nothing is there: a download arrives as a stream of frames.
ReadStatus ReadFull(int fd, char* buf, std::size_t n, int wait_ms);

// Starts the helper `argv` (not empty; argv[0] is the program's path; `name`, when given, is what `ps`
// shows instead) with the other end of a new stream as its channel. Returns this end. The
// helper is not waited for: it ends on its own, and whoever reaps this process's children
// collects it.
Result<files::UniqueFd> StartHelper(const std::vector<std::string>& argv, std::string name);

}  // namespace steward::http::helper
