#include "common/http_client.hpp"

#include <curl/curl.h>
#include <dlfcn.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <mutex>
#include <optional>
#include <type_traits>

#include "common/http_helper.hpp"

namespace steward::http {

namespace {

// libcurl, and the TLS, Kerberos and LDAP libraries it brings along, are loaded on the first
// request, not at start: a host that only supervises never maps them (about 6 MiB of resident
// memory, most of it touched by their initialisers).
constexpr const char* kLibcurl = "libcurl.so.4";

struct Libcurl {
  decltype(&curl_global_init) global_init;
  decltype(&curl_easy_init) easy_init;
  decltype(&curl_easy_cleanup) easy_cleanup;
  decltype(&curl_easy_reset) easy_reset;
  decltype(&curl_easy_setopt) easy_setopt;
  decltype(&curl_easy_getinfo) easy_getinfo;
  decltype(&curl_easy_perform) easy_perform;
  decltype(&curl_easy_strerror) easy_strerror;
  decltype(&curl_slist_append) slist_append;
  decltype(&curl_slist_free_all) slist_free_all;
  decltype(&curl_url) url;
  decltype(&curl_url_set) url_set;
  decltype(&curl_url_get) url_get;
  decltype(&curl_url_cleanup) url_cleanup;
  decltype(&curl_free) free;
};
const Libcurl* lib = nullptr;

}  // namespace

Result<void> LoadLibcurl() {
  static std::once_flag once;
  static std::optional<Error> failed;
  std::call_once(once, [] {
    void* so = ::dlopen(kLibcurl, RTLD_NOW | RTLD_LOCAL);
    static Libcurl l;
    auto Sym = [so](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(so, name));
      return fn != nullptr;
    };
    const bool loaded =
        so != nullptr && Sym(l.global_init, "curl_global_init") &&
        Sym(l.easy_init, "curl_easy_init") && Sym(l.easy_cleanup, "curl_easy_cleanup") &&
        Sym(l.easy_reset, "curl_easy_reset") && Sym(l.easy_setopt, "curl_easy_setopt") &&
        Sym(l.easy_getinfo, "curl_easy_getinfo") && Sym(l.easy_perform, "curl_easy_perform") &&
        Sym(l.easy_strerror, "curl_easy_strerror") && Sym(l.slist_append, "curl_slist_append") &&
        Sym(l.slist_free_all, "curl_slist_free_all") && Sym(l.url, "curl_url") &&
        Sym(l.url_set, "curl_url_set") && Sym(l.url_get, "curl_url_get") &&
        Sym(l.url_cleanup, "curl_url_cleanup") && Sym(l.free, "curl_free");
    if (loaded) {
      l.global_init(CURL_GLOBAL_DEFAULT);
      lib = &l;
      return;
    }
    const char* why = ::dlerror();
    failed = Error{ErrorCode::internal, std::string("cannot load ") + kLibcurl + ": " +
                                            (why != nullptr ? why : "missing symbols") +
                                            "; install libcurl 7.85 or newer (Debian: libcurl4)"};
  });
  if (failed) return std::unexpected(*failed);
  return {};
}

namespace {

struct EasyDeleter {
  void operator()(CURL* h) const { lib->easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { lib->slist_free_all(l); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

struct Transfer {
  const RequestSpec* spec = nullptr;
  ClientResponse* response = nullptr;
  std::uint64_t cap = 0;
  std::uint64_t received = 0;
  std::optional<Error> abort;
  CURL* easy = nullptr;
  bool head_checked = false;
};

// Runs the caller's HeadCheck once, on the final response (redirect bodies are never
// delivered to the write callback, so the first body byte belongs to the final response).
bool CheckHead(Transfer* t) {
  if (t->head_checked) return true;
  t->head_checked = true;
  lib->easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->response->status);
  if (!t->spec->on_head) return true;
  if (auto r = t->spec->on_head(*t->response); !r) {
    t->abort = r.error();
    return false;
  }
  return true;
}

std::uint64_t AnnouncedLength(CURL* easy) {
  curl_off_t length = -1;
  lib->easy_getinfo(easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  return length > 0 ? static_cast<std::uint64_t>(length) : 0;
}

std::size_t OnBody(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t len = size * n;
  if (!CheckHead(t)) return 0;  // makes curl fail with CURLE_WRITE_ERROR
  if (t->received + len > t->cap) {
    t->abort = Error{ErrorCode::too_large,
                     "response body exceeds the limit of " + std::to_string(t->cap) + " bytes"};
    return 0;  // makes curl fail with CURLE_WRITE_ERROR
  }
  t->received += len;
  if (t->spec->sink) {
    if (auto r = t->spec->sink(std::string_view(data, len)); !r) {
      t->abort = r.error();
      return 0;
    }
  } else {
    t->response->body.append(data, len);
  }
  if (t->spec->progress) t->spec->progress(t->received, AnnouncedLength(t->easy));
  return len;
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t len = size * n;
  std::string_view line(data, len);
  // A new status line (after a redirect or 100-continue) starts a new header set.
  if (line.starts_with("HTTP/")) {
    t->response->headers.clear();
    return len;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return len;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  t->response->headers[name] = std::string(value);
  return len;
}

ErrorCode CodeForCurl(CURLcode rc) {
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      return ErrorCode::http_stalled;
    case CURLE_TOO_MANY_REDIRECTS:
      return ErrorCode::http_redirect;
    case CURLE_UNSUPPORTED_PROTOCOL:
      return ErrorCode::http_scheme;
    case CURLE_FILESIZE_EXCEEDED:
      return ErrorCode::too_large;
    case CURLE_PARTIAL_FILE:
      return ErrorCode::http_truncated;
    default:
      return ErrorCode::http_transport;
  }
}

// A TLS failure as a stable code and a message that says what to do. nullopt: not TLS.
std::optional<Error> TlsError(CURL* easy, CURLcode rc, const ClientOptions& options,
                              const std::string& what, const std::string& detail) {
  const std::string ca =
      options.ca_file.empty() ? "the system's CA bundle" : "the CA file " + options.ca_file;
  switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION: {
      long verify = 0;
      lib->easy_getinfo(easy, CURLINFO_SSL_VERIFYRESULT, &verify);
      if (verify == X509_V_ERR_CERT_HAS_EXPIRED || verify == X509_V_ERR_CERT_NOT_YET_VALID) {
        return Error{ErrorCode::tls_expired,
                     what + ": the server's certificate is expired or not yet valid (" + detail +
                         "); the server needs a new certificate, or this host's clock is wrong"};
      }
      // libcurl checks the name itself once the chain is verified; a mismatch there leaves
      // X509_V_OK or X509_V_ERR_UNSPECIFIED (curl 7.88) as the verify result.
      if (verify == X509_V_OK || verify == X509_V_ERR_UNSPECIFIED ||
          verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        return Error{ErrorCode::tls_hostname,
                     what + ": the server's certificate is not for this host name (" + detail +
                         "); use a URL with a name or IP the certificate lists, or issue one "
                         "that lists it (stewardctl tls issue --name/--ip)"};
      }
      return Error{ErrorCode::tls_untrusted, what + ": the server's certificate is not signed by " +
                                                 ca + " (" + detail +
                                                 "); set ca_file to the fleet's ca.pem"};
    }
    case CURLE_SSL_CACERT_BADFILE:
      return Error{ErrorCode::tls_ca_file, what + ": cannot use " + ca + " (" + detail +
                                               "); give a readable PEM file of CA certificates"};
    case CURLE_SSL_CONNECT_ERROR:
      return Error{ErrorCode::tls_handshake,
                   what + ": TLS handshake failed (" + detail +
                       "); is this an https port, and does the server speak TLS 1.2 or newer?"};
    default:
      return std::nullopt;
  }
}

long Millis(Duration d) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

}  // namespace

std::string ClientResponse::Header(std::string_view name) const {
  const auto it = headers.find(std::string(name));
  return it == headers.end() ? std::string() : it->second;
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost") return true;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(std::string(host), ec);
  return !ec && addr.is_loopback();
}

struct Client::Impl {
  Easy easy;                                 // reused across requests: keeps connections alive
  std::unique_ptr<HelperConnection> helper;  // when the process runs its requests in a helper

  HelperConnection* Helper() {
    if (HelperProcess().empty()) return nullptr;
    if (!helper) helper = std::make_unique<HelperConnection>();
    return helper.get();
  }
};

Client::Client(ClientOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {}
Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

Result<void> Client::CheckUrl(std::string_view url) const {
  if (auto* helper = impl_->Helper()) return helper->CheckUrl(options_, url);
  if (auto loaded = LoadLibcurl(); !loaded) return loaded;
  std::unique_ptr<CURLU, decltype(lib->url_cleanup)> u(lib->url(), lib->url_cleanup);
  const std::string text(url);
  if (lib->url_set(u.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    return Fail(ErrorCode::invalid_argument, "'" + text + "' is not a valid URL");
  }
  char* scheme = nullptr;
  char* host = nullptr;
  lib->url_get(u.get(), CURLUPART_SCHEME, &scheme, 0);
  lib->url_get(u.get(), CURLUPART_HOST, &host, 0);
  const std::string s = scheme != nullptr ? scheme : "";
  const std::string h = host != nullptr ? host : "";
  lib->free(scheme);
  lib->free(host);
  if (s == "https") return {};
  if (s == "http" &&
      (options_.allow_insecure_http || !options_.unix_socket.empty() || IsLoopbackHost(h))) {
    return {};
  }
  if (s == "http") {
    return Fail(ErrorCode::http_scheme,
                "refusing plain http to " + h +
                    ": use https, or set allow_insecure_http = true for development setups");
  }
  return Fail(ErrorCode::http_scheme, "unsupported URL scheme '" + s + "' in " + text);
}

// Long because libcurl is configured option by option; the steps are flat and in the order
// curl applies them, which a split would scatter.
Result<ClientResponse> Client::Perform(const RequestSpec& spec) {
  if (auto* helper = impl_->Helper()) return helper->Perform(options_, spec);
  if (auto ok = CheckUrl(spec.url); !ok) return std::unexpected(ok.error());
  if (!impl_->easy) impl_->easy.reset(lib->easy_init());
  CURL* h = impl_->easy.get();
  if (h == nullptr) return Fail(ErrorCode::internal, "curl_easy_init failed");
  lib->easy_reset(h);

  ClientResponse response;
  Transfer t{
      &spec, &response,    spec.max_bytes != 0 ? spec.max_bytes : options_.max_response_bytes,
      0,     std::nullopt, h,
      false};
  Slist headers;
  for (const auto& hd : spec.headers)
    headers.reset(lib->slist_append(headers.release(), hd.c_str()));
  if (!spec.bearer_token.empty()) {
    headers.reset(lib->slist_append(headers.release(),
                                    ("Authorization: Bearer " + spec.bearer_token).c_str()));
  }
  const bool insecure_ok = options_.allow_insecure_http || !options_.unix_socket.empty();
  // Redirects may go to https anywhere, to http only where plain http is allowed at all.
  const char* protocols = insecure_ok ? "http,https" : "https";

  lib->easy_setopt(h, CURLOPT_URL, spec.url.c_str());
  lib->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  lib->easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
  lib->easy_setopt(h, CURLOPT_FOLLOWLOCATION, options_.max_redirects > 0 ? 1L : 0L);
  lib->easy_setopt(h, CURLOPT_MAXREDIRS, options_.max_redirects);
  lib->easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, Millis(options_.connect_timeout));
  lib->easy_setopt(h, CURLOPT_TIMEOUT_MS, Millis(options_.timeout));
  lib->easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, options_.low_speed_bytes);
  lib->easy_setopt(
      h, CURLOPT_LOW_SPEED_TIME,
      static_cast<long>(
          std::chrono::duration_cast<std::chrono::seconds>(options_.low_speed_time).count()));
  lib->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  lib->easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
  lib->easy_setopt(h, CURLOPT_HTTP_CONTENT_DECODING, 0L);  // bytes as sent: hashes see them
  // A HEAD reads no body: the Content-Length it announces is what the caller asks about.
  if (spec.method != "HEAD") {
    lib->easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(t.cap));
  }
  if (options_.buffer_size > 0) lib->easy_setopt(h, CURLOPT_BUFFERSIZE, options_.buffer_size);
  lib->easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  lib->easy_setopt(h, CURLOPT_WRITEDATA, &t);
  lib->easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  lib->easy_setopt(h, CURLOPT_HEADERDATA, &t);
  if (headers) lib->easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  // libcurl's defaults, set anyway: the peer's chain and its host name are always checked.
  lib->easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  lib->easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  lib->easy_setopt(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!options_.ca_file.empty()) lib->easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.proxy.empty()) lib->easy_setopt(h, CURLOPT_PROXY, options_.proxy.c_str());
  if (!options_.unix_socket.empty()) {
    lib->easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, options_.unix_socket.c_str());
  }
  if (spec.method == "GET") {
    lib->easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (spec.method == "HEAD") {
    lib->easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else {
    lib->easy_setopt(h, CURLOPT_CUSTOMREQUEST, spec.method.c_str());
    lib->easy_setopt(h, CURLOPT_POSTFIELDS, spec.body.data());
    lib->easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(spec.body.size()));
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  lib->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);

  const CURLcode rc = lib->easy_perform(h);
  if (t.abort) return std::unexpected(*t.abort);
  if (rc != CURLE_OK) {
    const std::string detail = errbuf[0] != '\0' ? errbuf : lib->easy_strerror(rc);
    if (rc == CURLE_FILESIZE_EXCEEDED) {
      return Fail(ErrorCode::too_large, spec.method + " " + spec.url + ": the server announces " +
                                            response.Header("content-length") +
                                            " bytes, more than the limit of " +
                                            std::to_string(t.cap));
    }
    const std::string what = spec.method + " " + spec.url;
    if (auto tls = TlsError(h, rc, options_, what, detail)) return std::unexpected(*tls);
    return Fail(CodeForCurl(rc), what + ": " + detail);
  }
  if (!CheckHead(&t)) return std::unexpected(*t.abort);
  return response;
}

Result<ClientResponse> Client::Get(const std::string& url, const std::string& bearer) {
  RequestSpec spec;
  spec.url = url;
  spec.bearer_token = bearer;
  return Perform(spec);
}

Result<ClientResponse> Client::PostJson(const std::string& url, const std::string& json,
                                        const std::string& bearer) {
  RequestSpec spec;
  spec.method = "POST";
  spec.url = url;
  spec.body = json;
  spec.bearer_token = bearer;
  spec.headers.push_back("Content-Type: application/json");
  return Perform(spec);
}

}  // namespace steward::http
