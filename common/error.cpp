#include "common/error.hpp"

#include <cerrno>
#include <cstring>

namespace steward {

std::string Error::ToString() const {
  std::string out(ErrorCodeName(code));
  out += ": ";
  out += message;
  return out;
}

Error Error::Wrap(std::string_view context) const& {
  return Error{code, std::string(context) + ": " + message};
}

Error Error::Wrap(std::string_view context) && {
  message.insert(0, std::string(context) + ": ");
  return std::move(*this);
}

std::string ErrnoMessage(std::string_view what, int errnum) {
  std::string out(what);
  out += ": ";
  out += std::strerror(errnum);
  return out;
}

Error ErrnoError(std::string_view what, int errnum) {
  ErrorCode code = ErrorCode::io;
  switch (errnum) {
    case ENOSPC:
    case EDQUOT:
      code = ErrorCode::no_space;
      break;
    case EACCES:
    case EPERM:
    case EROFS:
      code = ErrorCode::permission_denied;
      break;
    case ENOENT:
      code = ErrorCode::not_found;
      break;
    case EEXIST:
      code = ErrorCode::already_exists;
      break;
    default:
      break;
  }
  return Error{code, ErrnoMessage(what, errnum)};
}

}  // namespace steward
