#include "common/codes.hpp"

namespace steward {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
#define STEWARD_X(name, number) \
  case ErrorCode::name:         \
    return #name;
    STEWARD_ERROR_CODES(STEWARD_X)
#undef STEWARD_X
  }
  return "unknown";
}

std::optional<ErrorCode> ErrorCodeFromName(std::string_view name) {
#define STEWARD_X(n, number) \
  if (name == #n) return ErrorCode::n;
  STEWARD_ERROR_CODES(STEWARD_X)
#undef STEWARD_X
  return std::nullopt;
}

int ExitCodeFor(ErrorCode code) {
  const int area = static_cast<int>(code) / 100;
  switch (code) {
    case ErrorCode::usage:
    case ErrorCode::invalid_argument:
      return exit_code::kUsage;
    case ErrorCode::permission_denied:
      return exit_code::kNoPermission;
    case ErrorCode::io:
    case ErrorCode::no_space:
      return exit_code::kIoError;
    case ErrorCode::internal:
      return exit_code::kSoftware;
    case ErrorCode::unavailable:
    case ErrorCode::http_transport:
      return exit_code::kUnavailable;
    default:
      break;
  }
  if (area == 2) return exit_code::kConfig;
  if (area == 4) return exit_code::kDataError;
  return exit_code::kFailure;
}

std::string_view ExitKindName(ExitKind kind) {
  switch (kind) {
#define STEWARD_X(name) \
  case ExitKind::name:  \
    return #name;
    STEWARD_EXIT_KINDS(STEWARD_X)
#undef STEWARD_X
  }
  return "unknown";
}

std::optional<ExitKind> ExitKindFromName(std::string_view name) {
#define STEWARD_X(n) \
  if (name == #n) return ExitKind::n;
  STEWARD_EXIT_KINDS(STEWARD_X)
#undef STEWARD_X
  return std::nullopt;
}

std::string_view UpdateResultName(UpdateResult result) {
  switch (result) {
#define STEWARD_X(name)    \
  case UpdateResult::name: \
    return #name;
    STEWARD_UPDATE_RESULTS(STEWARD_X)
#undef STEWARD_X
  }
  return "unknown";
}

std::optional<UpdateResult> UpdateResultFromName(std::string_view name) {
#define STEWARD_X(n) \
  if (name == #n) return UpdateResult::n;
  STEWARD_UPDATE_RESULTS(STEWARD_X)
#undef STEWARD_X
  return std::nullopt;
}

}  // namespace steward
