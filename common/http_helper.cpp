#include "common/http_helper.hpp"

#include <charconv>
#include <cstring>
#include <mutex>
#include <optional>

#include "common/codes.hpp"
#include "common/http_helper_channel.hpp"

namespace steward::http {

namespace {

using helper::ReadFull;
using helper::ReadStatus;

constexpr std::uint32_t kMaxFrame = 32u << 20;  // a request body or one body chunk fits easily
constexpr std::size_t kMaxChunk = 1u << 20;     // body bytes per 'B' frame

// How helpers are started; set from static initializers too (tests), hence constructed on use.
struct Command {
  std::mutex mu;
  std::vector<std::string> argv;
  std::string name;
};
Command& HelperCommand() {
  static Command command;
  return command;
}

struct Encoder {
  std::string out;
  void U(std::uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void S(std::string_view s) {
    U(s.size());
    out.append(s);
  }
};

struct Decoder {
  std::string_view in;
  bool ok = true;
  std::uint64_t U() {
    std::uint64_t v = 0;
    if (in.size() < sizeof v) {
      ok = false;
      return 0;
    }
    std::memcpy(&v, in.data(), sizeof v);
    in.remove_prefix(sizeof v);
    return v;
  }
  std::string S() {
    const std::uint64_t n = U();
    if (!ok || n > in.size()) {
      ok = false;
      return {};
    }
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
};

std::int64_t Ms(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

void EncodeOptions(Encoder& e, const ClientOptions& o) {
  e.S(o.ca_file);
  e.U(o.allow_insecure_http ? 1 : 0);
  e.S(o.unix_socket);
  e.S(o.proxy);
  e.U(static_cast<std::uint64_t>(Ms(o.connect_timeout)));
  e.U(static_cast<std::uint64_t>(Ms(o.timeout)));
  e.U(static_cast<std::uint64_t>(o.low_speed_bytes));
  e.U(static_cast<std::uint64_t>(Ms(o.low_speed_time)));
  e.U(static_cast<std::uint64_t>(o.max_redirects));
  e.U(o.max_response_bytes);
  e.S(o.user_agent);
  e.U(static_cast<std::uint64_t>(o.buffer_size));
}

ClientOptions DecodeOptions(Decoder& d) {
  ClientOptions o;
  o.ca_file = d.S();
  o.allow_insecure_http = d.U() != 0;
  o.unix_socket = d.S();
  o.proxy = d.S();
  o.connect_timeout = std::chrono::milliseconds(d.U());
  o.timeout = std::chrono::milliseconds(d.U());
  o.low_speed_bytes = static_cast<long>(d.U());
  o.low_speed_time = std::chrono::milliseconds(d.U());
  o.max_redirects = static_cast<long>(d.U());
  o.max_response_bytes = d.U();
  o.user_agent = d.S();
  o.buffer_size = static_cast<long>(d.U());
  return o;
}

void EncodeSpec(Encoder& e, const RequestSpec& s) {
  e.S(s.method);
  e.S(s.url);
  e.S(s.body);
  e.U(s.headers.size());
  for (const auto& h : s.headers) e.S(h);
  e.S(s.bearer_token);
  e.U(s.max_bytes);
}

RequestSpec DecodeSpec(Decoder& d) {
  RequestSpec s;
  s.method = d.S();
  s.url = d.S();
  s.body = d.S();
  for (std::uint64_t n = d.U(); d.ok && n > 0; --n) s.headers.push_back(d.S());
  s.bearer_token = d.S();
  s.max_bytes = d.U();
  return s;
}

bool SendFrame(int fd, char type, std::string_view payload) {
  const auto len = static_cast<std::uint32_t>(payload.size() + 1);
  char head[5];
  std::memcpy(head, &len, 4);
  head[4] = type;
  return helper::WriteAll(fd, std::string_view(head, 5)) && helper::WriteAll(fd, payload);
}

struct Frame {
  char type = 0;
  std::string payload;
};

ReadStatus ReadFrame(int fd, Frame& f, int wait_ms) {
  std::uint32_t len = 0;
  if (auto s = ReadFull(fd, reinterpret_cast<char*>(&len), 4, wait_ms); s != ReadStatus::ok) {
    return s;
  }
  if (len == 0 || len > kMaxFrame) return ReadStatus::error;
  // Not zero-filled first: body frames arrive back to back and are read right over it. The
  // size is returned as captured: GCC 12's libstdc++ passes the new capacity, not the size.
  const std::size_t size = len - 1;
  f.payload.resize_and_overwrite(size, [size](char*, std::size_t) { return size; });
  if (auto s = ReadFull(fd, &f.type, 1, wait_ms); s != ReadStatus::ok) {
    return s == ReadStatus::eof ? ReadStatus::error : s;
  }
  if (auto s = ReadFull(fd, f.payload.data(), f.payload.size(), wait_ms); s != ReadStatus::ok) {
    return s == ReadStatus::eof ? ReadStatus::error : s;
  }
  return ReadStatus::ok;
}

std::string EncodeHead(const ClientResponse& r) {
  Encoder e;
  e.U(static_cast<std::uint64_t>(r.status));
  e.U(r.headers.size());
  for (const auto& [k, v] : r.headers) {
    e.S(k);
    e.S(v);
  }
  return std::move(e.out);
}

std::string EncodeError(const Error& err) {
  Encoder e;
  e.S(ErrorCodeName(err.code));
  e.S(err.message);
  return std::move(e.out);
}

std::uint64_t ContentLength(const ClientResponse& r) {
  const std::string v = r.Header("content-length");
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  return ec == std::errc() && end == v.data() + v.size() ? n : 0;
}

}  // namespace

void UseHelperProcess(std::vector<std::string> argv, std::string name) {
  Command& c = HelperCommand();
  std::lock_guard lock(c.mu);
  c.argv = std::move(argv);
  c.name = std::move(name);
}

std::vector<std::string> HelperProcess() {
  Command& c = HelperCommand();
  std::lock_guard lock(c.mu);
  return c.argv;
}

int ServeHelper(int fd, Duration idle) {
  std::optional<Client> client;
  std::string client_options;  // the encoded options `client` was made with
  for (;;) {
    Frame q;
    const ReadStatus s = ReadFrame(fd, q, static_cast<int>(Ms(idle)));
    if (s == ReadStatus::eof || s == ReadStatus::timeout) return 0;
    if (s != ReadStatus::ok || q.type != 'Q') return 2;
    if (!SendFrame(fd, 'A', {})) return 0;
    Decoder d{q.payload};
    const auto mode = d.U();
    const std::string_view options_start = d.in;
    ClientOptions options = DecodeOptions(d);
    const std::string encoded(options_start.substr(0, options_start.size() - d.in.size()));
    RequestSpec spec = DecodeSpec(d);
    if (!d.ok || !d.in.empty() || (mode != 1 && mode != 2)) return 2;
    if (!client || encoded != client_options) {
      client.emplace(std::move(options));
      client_options = encoded;
    }
    bool client_gone = false;
    Result<void> done;
    if (mode == 2) {
      done = client->CheckUrl(spec.url);
    } else {
      spec.on_head = [&](const ClientResponse& head) -> Result<void> {
        if (SendFrame(fd, 'H', EncodeHead(head))) return {};
        client_gone = true;
        return Fail(ErrorCode::cancelled, "the client went away");
      };
      spec.sink = [&](std::string_view chunk) -> Result<void> {
        for (std::size_t at = 0; at < chunk.size(); at += kMaxChunk) {
          if (!SendFrame(fd, 'B', chunk.substr(at, kMaxChunk))) {
            client_gone = true;
            return Fail(ErrorCode::cancelled, "the client went away");
          }
        }
        return {};
      };
      auto r = client->Perform(spec);
      if (!r) done = std::unexpected(r.error());
    }
    if (client_gone) return 0;
    const bool sent = done ? SendFrame(fd, 'D', {}) : SendFrame(fd, 'F', EncodeError(done.error()));
    if (!sent) return 0;
  }
}

Result<void> HelperConnection::Start() {
  std::vector<std::string> argv;
  std::string name;
  {
    Command& c = HelperCommand();
    std::lock_guard lock(c.mu);
    argv = c.argv;
    name = c.name;
  }
  if (argv.empty()) return Fail(ErrorCode::internal, "no HTTP helper process configured");
  auto fd = helper::StartHelper(argv, std::move(name));
  if (!fd) return std::unexpected(fd.error());
  fd_ = std::move(*fd);
  return {};
}

Result<ClientResponse> HelperConnection::Perform(const ClientOptions& options,
                                                 const RequestSpec& spec) {
  return Call(Mode::perform, options, spec);
}

Result<void> HelperConnection::CheckUrl(const ClientOptions& options, std::string_view url) {
  RequestSpec spec;
  spec.url = std::string(url);
  auto r = Call(Mode::check, options, spec);
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<bool> HelperConnection::Submit(std::string_view request, int wait_ms) {
  for (int attempt = 0;; ++attempt) {
    if (!fd_) {
      if (auto s = Start(); !s) return std::unexpected(s.error());
    }
    Frame f;
    const bool sent = SendFrame(fd_.Get(), 'Q', request);
    const ReadStatus s = sent ? ReadFrame(fd_.Get(), f, wait_ms) : ReadStatus::eof;
    if (s == ReadStatus::ok && f.type == 'A') return true;
    // A helper that ended before taking the request (it had just gone idle) never saw it.
    if (s != ReadStatus::eof || attempt > 0) return false;
    Abandon();
  }
}

Result<ClientResponse> HelperConnection::Call(Mode mode, const ClientOptions& options,
                                              const RequestSpec& spec) {
  Encoder e;
  e.U(static_cast<std::uint64_t>(mode));
  EncodeOptions(e, options);
  EncodeSpec(e, spec);
  // The helper enforces the request's own deadlines; this only guards against a helper that
  // stopped answering altogether.
  const int wait_ms = static_cast<int>(
      std::min<std::int64_t>(Ms(options.timeout + std::chrono::seconds(10)), INT32_MAX));
  auto fail = [&](ErrorCode code, const std::string& why) -> std::unexpected<Error> {
    Abandon();
    return std::unexpected(Error{code, spec.method + " " + spec.url + ": " + why});
  };
  auto taken = Submit(e.out, wait_ms);
  if (!taken) return std::unexpected(taken.error());
  if (!*taken) {
    return fail(ErrorCode::http_transport, "the HTTP helper process did not take the request");
  }
  ClientResponse response;
  bool head_seen = false;
  std::uint64_t received = 0, announced = 0;
  Frame f;  // reused: a download's frames fit the same buffer
  for (;;) {
    const ReadStatus s = ReadFrame(fd_.Get(), f, wait_ms);
    if (s == ReadStatus::timeout) {
      return fail(ErrorCode::http_stalled, "the HTTP helper process stopped answering");
    }
    if (s != ReadStatus::ok) {
      return fail(ErrorCode::http_transport, "the HTTP helper process ended mid-request");
    }
    Decoder d{f.payload};
    switch (f.type) {
      case 'H': {
        response.status = static_cast<long>(d.U());
        for (std::uint64_t n = d.U(); d.ok && n > 0; --n) {
          std::string k = d.S();
          response.headers[k] = d.S();
        }
        if (!d.ok || head_seen) return fail(ErrorCode::internal, "malformed helper answer");
        head_seen = true;
        announced = spec.method == "HEAD" ? 0 : ContentLength(response);
        if (spec.on_head) {
          if (auto r = spec.on_head(response); !r) {
            Abandon();  // nothing of this body reaches the sink
            return std::unexpected(r.error());
          }
        }
        break;
      }
      case 'B':
        if (!head_seen) return fail(ErrorCode::internal, "malformed helper answer");
        received += f.payload.size();
        if (spec.sink) {
          if (auto r = spec.sink(f.payload); !r) {
            Abandon();
            return std::unexpected(r.error());
          }
        } else {
          response.body += f.payload;
        }
        if (spec.progress) spec.progress(received, announced);
        break;
      case 'D':
        if (mode == Mode::perform && !head_seen) {
          return fail(ErrorCode::internal, "malformed helper answer");
        }
        return response;
      case 'F': {
        const auto code = ErrorCodeFromName(d.S());
        std::string message = d.S();
        if (!d.ok) return fail(ErrorCode::internal, "malformed helper answer");
        return std::unexpected(Error{code.value_or(ErrorCode::http_transport), std::move(message)});
      }
      default:
        return fail(ErrorCode::internal, "malformed helper answer");
    }
  }
}

}  // namespace steward::http
