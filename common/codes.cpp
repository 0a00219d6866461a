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

namespace {

#define STEWARD_ENUM_NAME(name) #name,

// The names of a STEWARD_NAMED_ENUM, in the order of its members.
template <class Enum, std::size_t N>
std::string_view NameIn(const std::string_view (&names)[N], Enum value) {
  const auto i = static_cast<std::size_t>(value);
  return i < N ? names[i] : "unknown";
}

template <class Enum, std::size_t N>
std::optional<Enum> FindIn(const std::string_view (&names)[N], std::string_view name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

constexpr std::string_view kExitKinds[] = {STEWARD_EXIT_KINDS(STEWARD_ENUM_NAME)};
constexpr std::string_view kUpdateResults[] = {STEWARD_UPDATE_RESULTS(STEWARD_ENUM_NAME)};

}  // namespace

std::string_view ExitKindName(ExitKind kind) { return NameIn(kExitKinds, kind); }
std::optional<ExitKind> ExitKindFromName(std::string_view name) {
  return FindIn<ExitKind>(kExitKinds, name);
}

std::string_view UpdateResultName(UpdateResult result) { return NameIn(kUpdateResults, result); }
std::optional<UpdateResult> UpdateResultFromName(std::string_view name) {
  return FindIn<UpdateResult>(kUpdateResults, name);
}

}  // namespace steward
