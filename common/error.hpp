// One error vocabulary: every operation that can fail for reasons outside our control returns
// Result<T>. An Error carries a stable code (common/codes.hpp) and a message with context:
// what was wrong and, where it helps, what to do about it.
#pragma once

#include <expected>
#include <string>
#include <utility>

#include "common/codes.hpp"

namespace steward {

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;

  // "sig_invalid: signature does not match …"
  std::string ToString() const;

  // Prefixes context: Wrap("loading /etc/x.toml") -> "loading /etc/x.toml: <message>".
  Error Wrap(std::string_view context) const&;
  Error Wrap(std::string_view context) &&;
};

template <class T = void>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

// Error text for errno values: "open /x: No such file or directory".
std::string ErrnoMessage(std::string_view what, int errnum);
// An Error for an errno, mapping ENOSPC/EACCES/ENOENT/EEXIST to their codes.
Error ErrnoError(std::string_view what, int errnum);

}  // namespace steward
