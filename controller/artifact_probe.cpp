#include "controller/artifact_probe.hpp"

#include <filesystem>
#include <optional>

#include "common/hash.hpp"
#include "common/http_client.hpp"

namespace steward::controller {

namespace {

// The blob path when `url` is this controller's own /v1/artifacts/{sha256}.
std::optional<std::filesystem::path> OwnBlob(std::string prefix, const std::string& blob_dir,
                                             const std::string& url) {
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  prefix += "/v1/artifacts/";
  if (prefix.size() <= 14 || !url.starts_with(prefix)) return std::nullopt;
  const auto sha = url.substr(prefix.size());
  if (!ParseSha256Hex(sha)) return std::nullopt;
  return std::filesystem::path(blob_dir) / sha;
}

Result<void> CheckBlob(const std::filesystem::path& blob, std::uint64_t declared,
                       const std::string& where) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(blob, ec);
  if (ec) {
    return Fail(ErrorCode::artifact_unreachable,
                where +
                    " is not in this controller's blob directory (it answers 404); "
                    "upload it before publishing");
  }
  if (size != declared) {
    return Fail(ErrorCode::size_mismatch, where + " has size " + std::to_string(size) +
                                              ", the manifest declares " +
                                              std::to_string(declared));
  }
  return {};
}

Result<void> CheckUrl(http::Client& client, const std::string& url, std::uint64_t declared,
                      const std::string& where) {
  http::RequestSpec spec;
  spec.method = "HEAD";
  spec.url = url;
  auto res = client.Perform(spec);
  if (!res) {
    return Fail(ErrorCode::artifact_unreachable, where + " is unreachable: " + res.error().message);
  }
  if (res->status < 200 || res->status > 299) {
    return Fail(
        ErrorCode::artifact_unreachable,
        where + " answered HTTP " + std::to_string(res->status) + "; upload it before publishing");
  }
  const auto length = res->Header("content-length");
  if (length != std::to_string(declared)) {
    return Fail(ErrorCode::size_mismatch,
                where + " has size " + (length.empty() ? "unknown" : length) +
                    ", the manifest declares " + std::to_string(declared));
  }
  return {};
}

}  // namespace

HttpArtifactProbe::HttpArtifactProbe(HttpProbeOptions options) : opt_(std::move(options)) {}

Result<void> HttpArtifactProbe::Check(const trust::Manifest& m) {
  http::ClientOptions copt;
  copt.allow_insecure_http = opt_.allow_insecure_http;
  copt.ca_file = opt_.ca_file;
  copt.connect_timeout = std::chrono::seconds(5);
  copt.timeout = std::chrono::seconds(15);
  copt.max_redirects = 3;
  http::Client client(copt);
  auto check = [&](const std::string& url, const std::vector<std::string>& mirrors,
                   std::uint64_t size, const std::string& what) -> Result<void> {
    std::vector<std::string> urls{url};
    urls.insert(urls.end(), mirrors.begin(), mirrors.end());
    for (const auto& u : urls) {
      const std::string where = what + " at " + u;
      auto own = OwnBlob(opt_.public_url ? opt_.public_url() : "", opt_.blob_dir, u);
      auto r = own ? CheckBlob(*own, size, where) : CheckUrl(client, u, size, where);
      if (!r) return r;
    }
    return {};
  };
  for (const auto& [platform, a] : m.artifacts) {
    if (auto r = check(a.url, a.mirrors, a.size, "artifact " + platform); !r) return r;
    // Patches are checked like artifacts: a node that finds one unreachable falls back to the
    // full download, but a release should not be published with a broken one.
    for (const auto& d : a.deltas) {
      const std::string what =
          "delta " + platform + " from " + HexEncode(d.from_sha256).substr(0, 8);
      if (auto r = check(d.url, d.mirrors, d.size, what); !r) return r;
    }
  }
  return {};
}

}  // namespace steward::controller
