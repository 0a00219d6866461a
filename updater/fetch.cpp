#include "updater/fetch.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "common/failpoint.hpp"
#include "common/files.hpp"
#include "common/log.hpp"
#include "common/platform.hpp"
#include "common/zstd_patch.hpp"
#include "updater/elf.hpp"
#include "updater/fetch_record.hpp"
#include "updater/stream_hash.hpp"

namespace steward::updater {

namespace fs = std::filesystem;

namespace {

// Writeback of the partial file is started every this many bytes.
constexpr std::uint64_t kWritebackEvery = std::uint64_t{8} << 20;

bool IsSafeName(std::string_view s) {
  if (s.empty() || s.size() > 128 || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '+';
  });
}

// The URLs to try, each once: the artifact's url, then its mirrors in the manifest's order;
// a download to resume continues at `resume_url` first.
std::vector<std::string> MirrorOrder(const trust::Artifact& a, const std::string& resume_url) {
  std::vector<std::string> urls;
  if (!a.url.empty()) urls.push_back(a.url);
  for (const auto& u : a.mirrors) {
    if (std::find(urls.begin(), urls.end(), u) == urls.end()) urls.push_back(u);
  }
  if (!resume_url.empty()) {
    const auto it = std::find(urls.begin(), urls.end(), resume_url);
    if (it != urls.end()) std::rotate(urls.begin(), it, it + 1);
  }
  return urls;
}

// One URL's error as it is; several as all_mirrors_failed listing each (disk_full when the
// last one ran out of space: no mirror can fix that).
Error EveryUrlFailed(const std::vector<Error>& errors) {
  if (errors.size() == 1) return errors.front();
  std::string msg = "every URL failed:";
  for (std::size_t i = 0; i < errors.size(); ++i) {
    msg += (i == 0 ? " " : "; ") + errors[i].ToString();
  }
  return Error{errors.back().code == ErrorCode::disk_full ? ErrorCode::disk_full
                                                          : ErrorCode::all_mirrors_failed,
               msg};
}

bool IsDir(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Names that become paths are plain file names; the artifact is a non-empty binary.
Result<void> CheckRequest(const FetchRequest& req, const std::string& binary) {
  const trust::Artifact& a = req.artifact;
  if (!IsSafeName(req.component) || !IsSafeName(req.version) || !IsSafeName(binary)) {
    return Fail(ErrorCode::invalid_argument, "component '" + req.component + "', version '" +
                                                 req.version + "' or binary '" + binary +
                                                 "' is not a plain file name ([A-Za-z0-9._+-])");
  }
  if (a.format != "binary") {
    return Fail(ErrorCode::unsupported,
                "artifact format '" + a.format + "' is not supported; expected \"binary\"");
  }
  if (a.size == 0) return Fail(ErrorCode::size_mismatch, "the manifest's artifact size is 0");
  return {};
}

// The version directory exists already: reused only when it holds exactly the artifact (the
// directory name carries 8 hex digits of the hash, not all of it, and the file may have been
// damaged since).
Result<Installed> AlreadyInstalled(const fs::path& final_dir, const std::string& binary,
                                   const trust::Artifact& a) {
  struct stat st {};
  const fs::path bin = final_dir / binary;
  if (::lstat(bin.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<std::uint64_t>(st.st_size) == a.size) {
    if (auto sum = Sha256File(bin); sum && *sum == a.sha256) {
      return Installed{final_dir, bin, "", 0, false, true, ""};
    }
  }
  return Fail(ErrorCode::already_exists, final_dir.string() + " exists but does not hold " +
                                             binary +
                                             " with the expected size and SHA-256; "
                                             "remove it to install again");
}

}  // namespace

http::ClientOptions DownloadClientOptions() {
  http::ClientOptions o;
  o.connect_timeout = std::chrono::seconds(30);
  o.timeout = std::chrono::hours(6);
  o.low_speed_bytes = 1024;
  o.low_speed_time = std::chrono::seconds(60);
  o.buffer_size = 256 * 1024;
  return o;
}

FetchOptions FetchOptionsFor(const ControllerConfig& controller) {
  FetchOptions o;
  o.client.ca_file = controller.ca_file;
  o.client.allow_insecure_http = controller.allow_insecure_http;
  o.client.proxy = controller.proxy;
  return o;
}

struct Fetcher::Impl {
  fs::path state_dir;
  fs::path staging;
  FetchOptions options;
  http::Client client;
  spdlog::logger* log = &log::Get("fetch");

  Impl(fs::path dir, FetchOptions opts)
      : state_dir(std::move(dir)),
        staging(StagingDir(state_dir)),
        options(std::move(opts)),
        client(options.client) {
    if (options.platform.empty()) options.platform = std::string(HostPlatform());
  }

  // One artifact's download in progress: the partial file, its hash so far, its record.
  struct Stage {
    fs::path partial;
    fs::path record_path;
    files::UniqueFd fd;
    StreamHash hash;
    ResumeRecord record;
    std::uint64_t persisted = 0;     // offset written in the record file last
    std::uint64_t written_back = 0;  // offset up to which writeback to disk was started
    std::uint64_t downloaded = 0;
    bool resumed = false;
  };

  void Discard(Stage& s) {
    s.fd = files::UniqueFd();
    ::unlink(s.partial.c_str());
    ::unlink(s.record_path.c_str());
    s.record.offset = 0;
    s.persisted = 0;
    s.resumed = false;
  }

  Result<void> Persist(Stage& s) {
    if (auto r = files::AtomicWrite(s.record_path, s.record.ToJson(), 0600); !r) return r;
    s.persisted = s.record.offset;
    Failpoint("fetch.after_partial_persist");
    return {};
  }

  // Loads a resume record that matches this artifact and a partial file it describes; anything
  // else in their place is removed.
  void LoadResume(Stage& s, const trust::Artifact& a) {
    auto text = files::ReadFile(s.record_path, kMaxRecordBytes);
    std::optional<ResumeRecord> rec;
    if (text) {
      if (auto r = ParseRecord(*text); r) {
        rec = *r;
      } else {
        log->warn("discarding resume record path={} error={}", s.record_path.string(),
                  r.error().ToString());
      }
    }
    struct stat st {};
    const bool partial_ok = ::lstat(s.partial.c_str(), &st) == 0 && S_ISREG(st.st_mode);
    if (rec && partial_ok && rec->size == a.size && rec->sha256 == HexEncode(a.sha256) &&
        static_cast<std::uint64_t>(st.st_size) >= rec->offset && rec->offset > 0) {
      s.record = *rec;
      s.persisted = rec->offset;
      return;
    }
    Discard(s);
  }

  // Opens the partial file for an attempt starting at s.record.offset (0: a new file, created
  // exclusively without following links) and feeds the bytes already there to the hash.
  Result<void> OpenPartial(Stage& s) {
    s.fd = files::UniqueFd();
    s.hash.Reset();
    if (s.record.offset == 0) {
      ::unlink(s.partial.c_str());
      auto fd = files::CreateExclusive(s.partial, 0600);
      if (!fd) return std::unexpected(fd.error());
      // CreateExclusive opens write-only; the hash of a resumed prefix needs reading too.
      s.fd = files::UniqueFd(::open(s.partial.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
      if (!s.fd) return std::unexpected(ErrnoError("open " + s.partial.string(), errno));
      return {};
    }
    s.fd = files::UniqueFd(::open(s.partial.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
    if (!s.fd) return std::unexpected(ErrnoError("open " + s.partial.string(), errno));
    struct stat st {};
    if (::fstat(s.fd.Get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return Fail(ErrorCode::resume_invalid, s.partial.string() + " is not a regular file");
    }
    // Bytes past the recorded offset were never vouched for by a record: drop them.
    if (::ftruncate(s.fd.Get(), static_cast<off_t>(s.record.offset)) != 0) {
      return std::unexpected(ErrnoError("truncate " + s.partial.string(), errno));
    }
    std::string buf(1 << 20, '\0');
    std::uint64_t at = 0;
    while (at < s.record.offset) {
      const std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), s.record.offset - at));
      const ssize_t n = ::pread(s.fd.Get(), buf.data(), want, static_cast<off_t>(at));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return Fail(ErrorCode::resume_invalid,
                    s.partial.string() + " is shorter than its resume record says");
      }
      s.hash.Update(std::string_view(buf.data(), static_cast<std::size_t>(n)));
      at += static_cast<std::uint64_t>(n);
    }
    if (::lseek(s.fd.Get(), static_cast<off_t>(at), SEEK_SET) < 0) {
      return std::unexpected(ErrnoError("seek " + s.partial.string(), errno));
    }
    return {};
  }

  // Starts the partial over at byte 0 (a server that ignored Range or changed the file).
  Result<void> RestartFromZero(Stage& s) {
    if (::ftruncate(s.fd.Get(), 0) != 0 || ::lseek(s.fd.Get(), 0, SEEK_SET) < 0) {
      return std::unexpected(ErrnoError("truncate " + s.partial.string(), errno));
    }
    s.hash.Reset();
    s.record.offset = 0;
    s.resumed = false;
    return {};
  }

  Result<void> CheckFreeSpace(std::uint64_t need) {
    auto free = files::FreeSpace(staging);
    if (!free) return std::unexpected(free.error());
    if (*free < need + options.reserve_bytes) {
      return Fail(ErrorCode::disk_full,
                  "not enough free space in " + staging.string() + ": " + std::to_string(*free) +
                      " bytes free, need " + std::to_string(need) + " plus a reserve of " +
                      std::to_string(options.reserve_bytes) + "; free some space");
    }
    return {};
  }

  Result<void> Write(Stage& s, std::string_view chunk) {
    if (Failpoint("fetch.before_write") == FailAction::error) {
      return Fail(ErrorCode::disk_full, "write " + s.partial.string() +
                                            ": No space left on device (injected by failpoint "
                                            "fetch.before_write)");
    }
    if (auto w = files::WriteAll(s.fd.Get(), chunk, s.partial.string()); !w) {
      if (w.error().code == ErrorCode::no_space) {
        return Fail(ErrorCode::disk_full, w.error().message + "; free some space");
      }
      return w;
    }
    return {};
  }

  // The answer's status and headers: a resume continues only where the record says; a full
  // body starts over. `restart` is set when the partial must go (a Content-Range elsewhere).
  Result<void> OnHead(Stage& s, const std::string& url, const trust::Artifact& a,
                      const http::ClientResponse& head, bool ranged, bool& restart) {
    if (head.status == 206 && !ranged) {
      return Fail(ErrorCode::http_status,
                  "GET " + url + ": 206 Partial Content to a request without Range");
    }
    if (head.status == 206) {
      const auto cr = ParseContentRange(head.Header("content-range"));
      if (!cr || cr->first != s.record.offset || (cr->total && *cr->total != a.size)) {
        restart = true;
        return Fail(ErrorCode::resume_invalid,
                    "GET " + url + ": Content-Range '" + head.Header("content-range") +
                        "' does not continue at byte " + std::to_string(s.record.offset) + " of " +
                        std::to_string(a.size));
      }
      s.resumed = true;
    } else if (head.status == 200) {
      if (ranged) {
        log->info("server ignored Range or the file changed; restarting url={}", url);
        if (auto r = RestartFromZero(s); !r) return r;
      }
    } else {
      return Fail(ErrorCode::http_status, "GET " + url + ": HTTP " + std::to_string(head.status) +
                                              " (expected 200 with the artifact)");
    }
    const std::uint64_t expect = a.size - s.record.offset;
    const std::string length = head.Header("content-length");
    if (const auto n = ParseLength(length); !length.empty() && (!n || *n != expect)) {
      const std::string type = head.Header("content-type");
      return Fail(ErrorCode::size_mismatch, "GET " + url + ": server announces " + length +
                                                " bytes" + (type.empty() ? "" : " of " + type) +
                                                ", the manifest needs " + std::to_string(expect) +
                                                (ranged ? " more" : "") +
                                                " (wrong file or an error page?)");
    }
    if (head.status == 200 || s.record.etag.empty()) s.record.etag = head.Header("etag");
    if (head.status == 200 || s.record.last_modified.empty()) {
      s.record.last_modified = head.Header("last-modified");
    }
    s.record.url = url;
    return CheckFreeSpace(expect);
  }

  // One chunk of the body: written, hashed, persisted in the record now and then.
  Result<void> OnChunk(Stage& s, const std::string& url, const trust::Artifact& a,
                       std::string_view chunk) {
    if (options.cancelled && options.cancelled()) {
      return Fail(ErrorCode::cancelled, "GET " + url + ": cancelled; the download resumes later");
    }
    if (chunk.size() > a.size - s.record.offset) {
      return Fail(ErrorCode::size_mismatch, "GET " + url + ": server sent more than the " +
                                                std::to_string(a.size) +
                                                " bytes the manifest says");
    }
    if (auto w = Write(s, chunk); !w) return w;
    s.hash.Update(chunk);
    s.record.offset += chunk.size();
    s.downloaded += chunk.size();
    // Start writing what arrived to disk now, so the final fsync has little left to wait for.
    if (s.record.offset - s.written_back >= kWritebackEvery) {
      (void)::sync_file_range(s.fd.Get(), static_cast<off_t>(s.written_back),
                              static_cast<off_t>(s.record.offset - s.written_back),
                              SYNC_FILE_RANGE_WRITE);
      s.written_back = s.record.offset;
    }
    if (s.record.offset - s.persisted >= options.persist_every && s.record.offset < a.size) {
      if (auto p = Persist(s); !p) return p;
    }
    if (options.progress) options.progress({url, s.record.offset, a.size});
    return {};
  }

  // One request for `url`. Leaves s.record.offset == size on success.
  Result<void> Transfer(Stage& s, const std::string& url, const trust::Artifact& a, bool& restart) {
    restart = false;
    const bool ranged = s.record.offset > 0;
    http::RequestSpec spec;
    spec.url = url;
    spec.max_bytes = a.size;  // a full body when the server ignores Range is still ≤ size
    if (ranged) {
      spec.headers.push_back("Range: bytes=" + std::to_string(s.record.offset) + "-");
      // A weak ETag cannot be used in If-Range; the final hash still guards a changed file.
      if (!s.record.etag.empty() && !s.record.etag.starts_with("W/")) {
        spec.headers.push_back("If-Range: " + s.record.etag);
      } else if (!s.record.last_modified.empty()) {
        spec.headers.push_back("If-Range: " + s.record.last_modified);
      }
    }
    spec.on_head = [&](const http::ClientResponse& head) {
      return OnHead(s, url, a, head, ranged, restart);
    };
    spec.sink = [&](std::string_view chunk) { return OnChunk(s, url, a, chunk); };
    auto resp = client.Perform(spec);
    if (!resp) {
      Error e = resp.error();
      if (e.code == ErrorCode::too_large) {
        e.code = ErrorCode::size_mismatch;  // the cap is the manifest's size
        e.message += " (the manifest's size)";
      }
      return std::unexpected(e);
    }
    if (s.record.offset != a.size) {
      return Fail(ErrorCode::size_mismatch, "GET " + url + ": got " +
                                                std::to_string(s.record.offset) + " of the " +
                                                std::to_string(a.size) + " bytes");
    }
    return {};
  }

  // Downloads from one URL into the stage, resuming when the stage's record is for this URL.
  Result<void> Download(Stage& s, const std::string& url, const trust::Artifact& a) {
    if (auto ok = client.CheckUrl(url); !ok) return ok;
    if (s.record.offset > 0 && s.record.url != url) Discard(s);
    for (int attempt = 0;; ++attempt) {
      if (s.record.offset == 0) {
        s.record.etag.clear();
        s.record.last_modified.clear();
      }
      s.record.url = url;
      s.record.size = a.size;
      s.record.sha256 = HexEncode(a.sha256);
      if (auto r = CheckFreeSpace(a.size - s.record.offset); !r) {
        Discard(s);
        return r;
      }
      if (auto r = OpenPartial(s); !r) {
        log->warn("partial unusable, starting over path={} error={}", s.partial.string(),
                  r.error().ToString());
        Discard(s);
        if (auto again = OpenPartial(s); !again) return again;
      }
      const bool was_resume = s.record.offset > 0;
      bool restart = false;
      auto r = Transfer(s, url, a, restart);
      if (!r) {
        if ((restart || r.error().code == ErrorCode::resume_invalid) && attempt == 0) {
          Discard(s);
          continue;
        }
        if (Resumable(r.error().code) && s.record.offset > 0) {
          (void)::fdatasync(s.fd.Get());
          if (auto p = Persist(s); !p) Discard(s);
          s.fd = files::UniqueFd();
        } else {
          Discard(s);
        }
        return r;
      }
      const Sha256Digest got = s.hash.Finish();
      if (got == a.sha256) return {};
      if (was_resume && s.resumed && attempt == 0) {
        // The bytes kept from before may not be what this server now serves: start over once.
        log->warn("resumed download does not hash right; starting over url={}", url);
        Discard(s);
        continue;
      }
      Discard(s);
      return Fail(ErrorCode::hash_mismatch,
                  "GET " + url + ": SHA-256 of the " + std::to_string(a.size) + " bytes is " +
                      HexEncode(got) + ", the manifest says " + HexEncode(a.sha256));
    }
  }

  // Every URL of `a` in turn (a download to resume first) into stage `s`; the URL that
  // served it, or one error for all.
  Result<std::string> DownloadAny(Stage& s, const trust::Artifact& a, const std::string& what) {
    const std::vector<std::string> urls =
        MirrorOrder(a, s.record.offset > 0 ? s.record.url : std::string());
    if (urls.empty()) return Fail(ErrorCode::invalid_argument, "the " + what + " has no URL");
    std::vector<Error> errors;
    for (const auto& url : urls) {
      log->info("fetching {} url={} offset={}", what, url, s.record.offset);
      auto r = Download(s, url, a);
      if (r) return url;
      log->warn("fetch failed {} url={} error={}", what, url, r.error().ToString());
      errors.push_back(r.error());
      if (r.error().code == ErrorCode::disk_full || r.error().code == ErrorCode::cancelled) break;
    }
    return std::unexpected(EveryUrlFailed(errors));
  }

  // The delta whose base is `base`, if the artifact lists one; nullopt otherwise (no base, or
  // a base no patch starts from: nothing is tried).
  static const trust::Delta* MatchingDelta(const trust::Artifact& a,
                                           const std::optional<Sha256Digest>& base_sha) {
    if (!base_sha) return nullptr;
    for (const auto& d : a.deltas) {
      if (d.from_sha256 == *base_sha) return &d;
    }
    return nullptr;
  }

  // Fetches patch `d` (resumable, verified by its own size and SHA-256) and applies it to
  // `base` into the artifact's stage `s`, hashing as it goes; s then holds exactly the
  // artifact (the URL that served the patch is returned), or the error says why not. The patch
  // file is gone afterwards either way, except a resumable partial when its download broke.
  Result<std::string> FetchDelta(Stage& s, const std::string& component, const trust::Delta& d,
                                 std::string_view base, const trust::Artifact& a, Stage& p) {
    const auto window_log = patch::WindowLogFor(base.size(), a.size);
    if (!window_log) {
      return Fail(ErrorCode::too_large, "base of " + std::to_string(base.size()) +
                                            " bytes and artifact of " + std::to_string(a.size) +
                                            " need a patch window above the cap");
    }
    const trust::Artifact pa{d.url, d.mirrors, d.size, d.sha256, d.format, {}};
    const std::string key = StagingKey(component, d.sha256);
    p.partial = staging / (key + ".partial");
    p.record_path = staging / (key + ".resume.json");
    RemoveTempSiblings(staging, key);
    LoadResume(p, pa);
    auto used = DownloadAny(p, pa, "patch component=" + component);
    if (!used) return std::unexpected(used.error());
    Failpoint("fetch.delta_downloaded");
    auto applied = Apply(s, *used, base, *window_log, a, p);
    const bool resumed = p.resumed;
    Discard(p);
    p.resumed = resumed;  // for the caller's report
    if (!applied) return std::unexpected(applied.error());
    return *used;
  }

  Result<void> Apply(Stage& s, const std::string& url, std::string_view base, int window_log,
                     const trust::Artifact& a, Stage& p) {
    if (auto r = CheckFreeSpace(a.size); !r) return r;
    s.record.offset = 0;
    if (auto r = OpenPartial(s); !r) return r;
    patch::Applier applier(base, window_log, a.size, [&](std::string_view chunk) -> Result<void> {
      if (auto w = Write(s, chunk); !w) return w;
      s.hash.Update(chunk);
      s.record.offset += chunk.size();
      return {};
    });
    std::string buf(1 << 20, '\0');
    for (std::uint64_t at = 0; at < p.record.offset;) {
      const ssize_t n = ::pread(p.fd.Get(), buf.data(), buf.size(), static_cast<off_t>(at));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return std::unexpected(ErrnoError("read " + p.partial.string(), errno));
      if (n == 0) break;
      at += static_cast<std::uint64_t>(n);
      if (auto r = applier.Feed(std::string_view(buf.data(), static_cast<std::size_t>(n))); !r) {
        return std::unexpected(r.error().Wrap("patch from " + url));
      }
    }
    auto made = applier.Finish();
    if (!made) return std::unexpected(made.error().Wrap("patch from " + url));
    if (*made != a.size) {
      return Fail(ErrorCode::size_mismatch,
                  "patch from " + url + " makes " + std::to_string(*made) +
                      " bytes, the manifest says " + std::to_string(a.size));
    }
    const Sha256Digest got = s.hash.Finish();
    if (got != a.sha256) {
      return Fail(ErrorCode::hash_mismatch, "patch from " + url + " makes bytes whose SHA-256 is " +
                                                HexEncode(got) + ", the manifest says " +
                                                HexEncode(a.sha256));
    }
    return {};
  }

  Result<void> Install(Stage& s, const fs::path& versions, const fs::path& final_dir,
                       const std::string& binary, const fs::path& install_dir) {
    if (auto r = CheckExecutableFile(s.partial, options.platform); !r) {
      Discard(s);
      return r;
    }
    if (::fchmod(s.fd.Get(), 0755) != 0) {
      return std::unexpected(ErrnoError("chmod " + s.partial.string(), errno));
    }
    if (::fsync(s.fd.Get()) != 0) {
      return std::unexpected(ErrnoError("fsync " + s.partial.string(), errno));
    }
    if (auto c = s.fd.Close(); !c) return c;
    std::error_code ec;
    fs::remove_all(install_dir, ec);
    if (::mkdir(install_dir.c_str(), 0755) != 0) {
      return std::unexpected(ErrnoError("mkdir " + install_dir.string(), errno));
    }
    if (::rename(s.partial.c_str(), (install_dir / binary).c_str()) != 0) {
      return std::unexpected(ErrnoError("rename into " + install_dir.string(), errno));
    }
    if (auto r = files::FsyncDir(install_dir); !r) return r;
    if (auto r = files::FsyncDir(staging); !r) return r;
    Failpoint("install.before_rename");
    if (::rename(install_dir.c_str(), final_dir.c_str()) != 0) {
      const int err = errno;
      if ((err == EEXIST || err == ENOTEMPTY) && IsDir(final_dir)) {
        fs::remove_all(install_dir, ec);  // installed meanwhile: same name, same hash
      } else {
        return std::unexpected(ErrnoError("rename to " + final_dir.string(), err));
      }
    }
    if (auto r = files::FsyncDir(versions); !r) return r;
    Failpoint("install.after_rename");
    ::unlink(s.record_path.c_str());
    return files::FsyncDir(staging);
  }
};

Fetcher::Fetcher(fs::path state_dir, FetchOptions options)
    : impl_(std::make_unique<Impl>(std::move(state_dir), std::move(options))) {}
Fetcher::~Fetcher() = default;

Result<Installed> Fetcher::FetchAndInstall(const FetchRequest& req) {
  Impl& m = *impl_;
  const trust::Artifact& a = req.artifact;
  const std::string binary = req.binary.empty() ? req.component : req.binary;
  if (auto r = CheckRequest(req, binary); !r) return std::unexpected(r.error());

  const ComponentLayout layout(m.state_dir, req.component);
  const fs::path versions = layout.Versions();
  const fs::path final_dir = layout.Version(VersionDirName(req.version, a.sha256));
  const std::string key = StagingKey(req.component, a.sha256);
  const fs::path install_dir = m.staging / (key + ".install");

  if (auto r = files::MakeDirs(versions, 0755); !r) return std::unexpected(r.error());
  if (auto r = PrepareStaging(m.staging); !r) return std::unexpected(r.error());
  if (auto r = SameFilesystem(m.staging, versions); !r) return std::unexpected(r.error());

  Impl::Stage s;
  s.partial = m.staging / (key + ".partial");
  s.record_path = m.staging / (key + ".resume.json");
  std::error_code ec;
  fs::remove_all(install_dir, ec);  // an install interrupted before its final rename
  RemoveTempSiblings(m.staging, key);

  if (IsDir(final_dir)) {
    auto reused = AlreadyInstalled(final_dir, binary, a);
    if (reused) m.Discard(s);
    return reused;
  }

  m.LoadResume(s, a);
  std::string download = "full";
  std::string used;
  std::uint64_t downloaded = 0;
  bool resumed = false;
  // A full download under way is continued; otherwise a patch from the installed binary is
  // tried first.
  std::optional<files::MappedFile> base;
  if (s.record.offset == 0 && !req.base.empty() && !a.deltas.empty()) {
    if (auto mapped = files::MappedFile::Open(req.base)) base = std::move(*mapped);
  }
  const trust::Delta* delta =
      Impl::MatchingDelta(a, base ? std::optional(Sha256Of(base->View())) : std::nullopt);
  if (delta != nullptr) {
    Impl::Stage p;
    auto r = m.FetchDelta(s, req.component, *delta, base->View(), a, p);
    if (r) {
      download = "delta";
      used = *r;
      downloaded = p.downloaded;
      resumed = p.resumed;
      m.log->info("patch applied component={} version={} patch_bytes={} size={}", req.component,
                  req.version, delta->size, a.size);
    } else {
      if (r.error().code == ErrorCode::cancelled) return std::unexpected(r.error());
      m.log->warn("patch failed, downloading the full artifact component={} version={} error={}",
                  req.component, req.version, r.error().ToString());
      download = "delta_failed: " + std::string(ErrorCodeName(r.error().code));
      m.Discard(s);
    }
  }
  base.reset();
  if (used.empty()) {
    auto r = m.DownloadAny(s, a, "component=" + req.component + " version=" + req.version);
    if (!r) return std::unexpected(r.error());
    used = *r;
    downloaded = s.downloaded;
    resumed = s.resumed;
  }
  if (auto r = m.Install(s, versions, final_dir, binary, install_dir); !r) {
    if (r.error().code != ErrorCode::exec_format) m.Discard(s);
    fs::remove_all(install_dir, ec);
    return std::unexpected(r.error());
  }
  m.log->info("installed component={} version={} dir={} bytes={} resumed={} download={}",
              req.component, req.version, final_dir.string(), downloaded, resumed, download);
  return Installed{final_dir, final_dir / binary, used, downloaded, resumed, false, download};
}

}  // namespace steward::updater
