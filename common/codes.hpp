// Stable codes that cross process boundaries: exit codes, error codes reported to the
// controller, and exit-kind names. Numbers and names are never renumbered or reused; add new
// entries at the end of their block. Documented in docs/codes.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace steward {

// Process exit codes (sysexits.h where one fits).
namespace exit_code {
inline constexpr int kOk = 0;
inline constexpr int kFailure = 1;       // the command ran and failed; message on stderr
inline constexpr int kUsage = 64;        // EX_USAGE: bad command line
inline constexpr int kDataError = 65;    // EX_DATAERR: input file malformed or unverifiable
inline constexpr int kUnavailable = 69;  // EX_UNAVAILABLE: a peer (controller, updater) unreachable
inline constexpr int kSoftware = 70;     // EX_SOFTWARE: internal error
inline constexpr int kIoError = 74;      // EX_IOERR
inline constexpr int kRestartRequested =
    75;                                   // EX_TEMPFAIL: supervisor restarts at once, no penalty
inline constexpr int kNoPermission = 77;  // EX_NOPERM
inline constexpr int kConfig = 78;        // EX_CONFIG: never restart-looped by the supervisor
}  // namespace exit_code

// X(name, number): error codes. Grouped by area in blocks of 100.
#define STEWARD_ERROR_CODES(X)                       \
  /* 1xx general */                                  \
  X(internal, 100)                                   \
  X(invalid_argument, 101)                           \
  X(io, 102)                                         \
  X(not_found, 103)                                  \
  X(already_exists, 104)                             \
  X(permission_denied, 105)                          \
  X(no_space, 106)                                   \
  X(timeout, 107)                                    \
  X(cancelled, 108)                                  \
  X(unsupported, 109)                                \
  X(too_large, 110)                                  \
  X(usage, 111)                                      \
  /* 2xx configuration */                            \
  X(config_parse, 200)                               \
  X(config_invalid, 201)                             \
  X(config_unreadable, 202)                          \
  /* 3xx state store */                              \
  X(db_open, 300)                                    \
  X(db_corrupt, 301)                                 \
  X(db_busy, 302)                                    \
  X(db_migration, 303)                               \
  X(db_query, 304)                                   \
  X(db_constraint, 305)                              \
  /* 4xx trust: keys, signatures, root, manifests */ \
  X(key_malformed, 400)                              \
  X(sig_malformed, 401)                              \
  X(sig_algorithm, 402)                              \
  X(sig_key_mismatch, 403)                           \
  X(sig_invalid, 404)                                \
  X(sig_comment_invalid, 405)                        \
  X(key_password, 406)                               \
  X(threshold_not_met, 407)                          \
  X(root_malformed, 408)                             \
  X(root_invalid, 409)                               \
  X(root_rotation, 410)                              \
  X(manifest_too_large, 411)                         \
  X(manifest_malformed, 412)                         \
  X(schema_mismatch, 413)                            \
  X(component_mismatch, 414)                         \
  X(channel_mismatch, 415)                           \
  X(sequence_rollback, 416)                          \
  X(sequence_conflict, 417)                          \
  X(expired, 418)                                    \
  X(platform_missing, 419)                           \
  X(root_version_mismatch, 420)                      \
  X(updater_too_old, 421)                            \
  /* 5xx fetching */                                 \
  X(http_transport, 500)                             \
  X(http_status, 501)                                \
  X(http_scheme, 502)                                \
  X(http_redirect, 503)                              \
  X(http_stalled, 504)                               \
  X(size_mismatch, 505)                              \
  X(hash_mismatch, 506)                              \
  X(exec_format, 507)                                \
  X(disk_full, 508)                                  \
  X(all_mirrors_failed, 509)                         \
  X(resume_invalid, 510)                             \
  X(http_truncated, 511)                             \
  X(tls_untrusted, 512)                              \
  X(tls_hostname, 513)                               \
  X(tls_expired, 514)                                \
  X(tls_handshake, 515)                              \
  X(tls_ca_file, 516)                                \
  X(delta_corrupt, 517)                              \
  /* 6xx supervision */                              \
  X(spawn_failed, 600)                               \
  X(start_timeout, 601)                              \
  X(stop_timeout, 602)                               \
  X(crash_loop, 603)                                 \
  X(unknown_component, 604)                          \
  X(notify_socket, 605)                              \
  /* 7xx update transactions */                      \
  X(health_gate_failed, 700)                         \
  X(rolled_back, 701)                                \
  X(environment, 702)                                \
  X(version_bad, 703)                                \
  X(selftest_failed, 704)                            \
  X(update_in_progress, 705)                         \
  X(version_mismatch, 706)                           \
  /* 8xx protocol and controller */                  \
  X(unauthorized, 800)                               \
  X(forbidden, 801)                                  \
  X(bad_request, 802)                                \
  X(payload_too_large, 803)                          \
  X(conflict, 804)                                   \
  X(unavailable, 805)                                \
  X(artifact_unreachable, 806)                       \
  X(route_not_found, 807)                            \
  X(method_not_allowed, 808)

enum class ErrorCode : std::uint16_t {
#define STEWARD_X(name, number) name = number,
  STEWARD_ERROR_CODES(STEWARD_X)
#undef STEWARD_X
};

// "sig_invalid" for ErrorCode::sig_invalid; the name is what crosses the wire.
std::string_view ErrorCodeName(ErrorCode code);
std::optional<ErrorCode> ErrorCodeFromName(std::string_view name);

// The exit code a command-line program uses for an error of this code.
int ExitCodeFor(ErrorCode code);

// X(name): why a supervised process ended (ARCHITECTURE §4). Names are stable.
#define STEWARD_EXIT_KINDS(X) \
  X(requested)                \
  X(clean)                    \
  X(external_signal)          \
  X(restart_requested)        \
  X(fatal_config)             \
  X(error_exit)               \
  X(crash)                    \
  X(killed)                   \
  X(watchdog)                 \
  X(start_failure)

// An enum of stable names from an X(name) list, with TypeName() and TypeFromName().
#define STEWARD_ENUM_MEMBER(name) name,
#define STEWARD_NAMED_ENUM(Type, LIST)                          \
  enum class Type : std::uint8_t { LIST(STEWARD_ENUM_MEMBER) }; \
  std::string_view Type##Name(Type value);                      \
  std::optional<Type> Type##FromName(std::string_view name);

STEWARD_NAMED_ENUM(ExitKind, STEWARD_EXIT_KINDS)

// X(name): how an update transaction ended, as the journal, status and check-ins name it.
// Names are stable; add new ones at the end.
#define STEWARD_UPDATE_RESULTS(X) \
  X(committed)                    \
  X(rolled_back)                  \
  X(environment)                  \
  X(failed)                       \
  X(superseded)

STEWARD_NAMED_ENUM(UpdateResult, STEWARD_UPDATE_RESULTS)

}  // namespace steward
