// Fetching releases: given a verified manifest's artifact for this host, get it onto disk as an
// installed version directory, or fail with a precise error code and leave nothing behind that
// could be mistaken for a good version.
//
// Bytes stream into `staging/` (0700, same filesystem as the versions) and are hashed as they
// arrive. A resume record next to the partial file lets a restarted updater continue with a
// Range request. A release that lists a patch (a "delta") from the installed binary is fetched
// as that patch, resumable the same way, and applied streaming into the partial file; the result
// must have the artifact's size and SHA-256, and any failure falls back to the full download.
// After the size, the SHA-256 and the executable format check out, the file is
// made 0755, fsynced and moved into `components/<name>/versions/<version>-<sha8>/<binary>`; the
// version directory appears in one rename, last, so it exists only when complete.
// docs/fetching.md has the details. The resume record is fetch_record.hpp, the staging
// directory staging.hpp, the streaming hash stream_hash.hpp, the paths layout.hpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/http_client.hpp"
#include "common/trust.hpp"
#include "updater/config.hpp"
#include "updater/layout.hpp"
#include "updater/staging.hpp"

namespace steward::updater {

struct FetchProgress {
  std::string url;
  std::uint64_t received = 0;  // bytes of the artifact on disk, resumed bytes included
  std::uint64_t size = 0;      // the manifest's size
};

// Client settings for artifact downloads: a long overall deadline (large artifacts on slow
// links) with a low-speed limit that catches stalled servers, and a larger receive buffer.
http::ClientOptions DownloadClientOptions();

struct FetchOptions {
  // Timeouts, low-speed limit, CA file, proxy, allow_insecure_http. max_response_bytes is
  // ignored: the cap is always the manifest's size.
  http::ClientOptions client = DownloadClientOptions();
  // Free space that must remain beyond the artifact's remaining bytes before the first byte.
  std::uint64_t reserve_bytes = std::uint64_t{64} << 20;
  // The resume record is rewritten after this many new bytes (and when a transfer breaks).
  std::uint64_t persist_every = std::uint64_t{16} << 20;
  // Platform for the executable-format check; empty: this host.
  std::string platform;
  std::function<void(const FetchProgress&)> progress;
  // Polled as bytes arrive; true aborts the download with `cancelled`, keeping the partial
  // file and its record for a later resume (the updater is stopping).
  std::function<bool()> cancelled;
};

// FetchOptions for the updater's [controller] settings: CA file, proxy, allow_insecure_http.
FetchOptions FetchOptionsFor(const ControllerConfig& controller);

struct FetchRequest {
  std::string component;  // [A-Za-z0-9._-], as in the config
  std::string version;    // the manifest's version string
  std::string binary;     // file name inside the version directory; empty: the component name
  trust::Artifact artifact;
  // The installed binary the node runs now (empty: none). When its SHA-256 is a delta's
  // from_sha256, the patch is fetched and applied first; any failure falls back to the full
  // download.
  std::filesystem::path base;
};

struct Installed {
  std::filesystem::path dir;     // components/<name>/versions/<version>-<sha8>
  std::filesystem::path binary;  // dir/<binary>
  std::string url;               // where the bytes came from (empty when already installed)
  std::uint64_t downloaded = 0;  // bytes transferred by this call; < size after a resume
  bool resumed = false;
  bool already_installed = false;
  // "delta", "full", or "delta_failed: <error code>" (then the full download followed); ""
  // when already installed.
  std::string download;
};

class Fetcher {
 public:
  // `state_dir` holds staging/ and components/ (ARCHITECTURE §4).
  Fetcher(std::filesystem::path state_dir, FetchOptions options);
  ~Fetcher();
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  // Downloads (resuming when a record allows), verifies and installs. Tries the artifact's url,
  // then each mirror; a mirror serving wrong bytes is one more failed mirror. Errors: the one
  // URL's error, or all_mirrors_failed listing each; disk_full, hash_mismatch, size_mismatch,
  // exec_format, http_* (see docs/fetching.md). On failure no version directory exists and
  // staging holds at most a resumable partial file and its record.
  Result<Installed> FetchAndInstall(const FetchRequest& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace steward::updater
