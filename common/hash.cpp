#include "common/hash.hpp"

#include <fcntl.h>
// SHA256_Init/Update/Final: the same assembly (SHA extensions where the CPU has them) as the
// EVP interface, without starting OpenSSL's provider machinery, whose initialisation touches
// about 2 MiB of libcrypto that would stay resident in the updater. Deprecated in OpenSSL 3.0,
// not removed.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

#include "common/files.hpp"

namespace steward {

static_assert(sizeof(crypto_generichash_state) <= 384);
static_assert(alignof(crypto_generichash_state) <= 64);

namespace {

auto* B2(unsigned char* s) { return reinterpret_cast<crypto_generichash_state*>(s); }

constexpr std::size_t kChunk = 1 << 20;

// Feeds `path` to `sink` in fixed-size chunks (constant memory whatever the size); returns the
// byte count. Plain reads, not mmap: a file truncated meanwhile ends early instead of faulting.
template <class Sink>
Result<std::uint64_t> StreamFile(const std::filesystem::path& path, Sink&& sink) {
  files::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::unexpected(ErrnoError("open " + path.string(), errno));
  ::posix_fadvise(fd.Get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  std::unique_ptr<std::uint8_t[]> buf(new std::uint8_t[kChunk]);
  std::uint64_t total = 0;
  for (;;) {
    const ssize_t n = ::read(fd.Get(), buf.get(), kChunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(ErrnoError("read " + path.string(), errno));
    }
    if (n == 0) break;
    sink(std::span<const std::uint8_t>(buf.get(), static_cast<std::size_t>(n)));
    total += static_cast<std::uint64_t>(n);
  }
  return total;
}

}  // namespace

void EnsureSodium() {
  static const bool ok = [] { return sodium_init() >= 0; }();
  if (!ok) {
    std::fputs("fatal: libsodium failed to initialise\n", stderr);
    std::abort();
  }
}

Sha256::Sha256() : ctx_(new SHA256_CTX) { Reset(); }

Sha256::~Sha256() { delete ctx_; }

Sha256::Sha256(Sha256&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}

Sha256& Sha256::operator=(Sha256&& other) noexcept {
  if (this != &other) {
    delete ctx_;
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}

void Sha256::Reset() {
  if (ctx_ == nullptr || SHA256_Init(ctx_) != 1) {
    std::fputs("fatal: OpenSSL SHA-256 unavailable\n", stderr);
    std::abort();
  }
}

void Sha256::Update(std::span<const std::uint8_t> data) {
  SHA256_Update(ctx_, data.data(), data.size());
}

void Sha256::Update(std::string_view data) { SHA256_Update(ctx_, data.data(), data.size()); }

Sha256Digest Sha256::Finish() {
  Sha256Digest d{};
  SHA256_Final(d.data(), ctx_);
  return d;
}

Blake2b512::Blake2b512() {
  EnsureSodium();
  crypto_generichash_init(B2(state_), nullptr, 0, crypto_generichash_BYTES_MAX);
}
void Blake2b512::Update(std::span<const std::uint8_t> data) {
  crypto_generichash_update(B2(state_), data.data(), data.size());
}
void Blake2b512::Update(std::string_view data) {
  crypto_generichash_update(B2(state_), reinterpret_cast<const unsigned char*>(data.data()),
                            data.size());
}
Blake2b512Digest Blake2b512::Finish() {
  Blake2b512Digest d{};
  crypto_generichash_final(B2(state_), d.data(), d.size());
  return d;
}

Sha256Digest Sha256Of(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.Finish();
}

// RFC 2104 over Sha256 (OpenSSL's HMAC() would start the provider machinery, see above).
Sha256Digest HmacSha256(std::span<const std::uint8_t> key, std::string_view message) {
  constexpr std::size_t kBlock = 64;
  std::array<std::uint8_t, kBlock> k{};
  if (key.size() > kBlock) {
    Sha256 h;
    h.Update(key);
    const Sha256Digest d = h.Finish();
    std::copy(d.begin(), d.end(), k.begin());
  } else {
    std::copy(key.begin(), key.end(), k.begin());
  }
  std::array<std::uint8_t, kBlock> pad{};
  Sha256 inner;
  for (std::size_t i = 0; i < kBlock; ++i) pad[i] = k[i] ^ 0x36;
  inner.Update(pad);
  inner.Update(message);
  const Sha256Digest inner_digest = inner.Finish();
  Sha256 outer;
  for (std::size_t i = 0; i < kBlock; ++i) pad[i] = k[i] ^ 0x5c;
  outer.Update(pad);
  outer.Update(inner_digest);
  return outer.Finish();
}

Blake2b512Digest Blake2b512Of(std::string_view data) {
  Blake2b512 h;
  h.Update(data);
  return h.Finish();
}

Result<Sha256Digest> Sha256File(const std::filesystem::path& path) {
  auto r = Sha256FileWithSize(path);
  if (!r) return std::unexpected(r.error());
  return r->sha256;
}

Result<FileDigests> Sha256FileWithSize(const std::filesystem::path& path) {
  Sha256 h;
  auto n = StreamFile(path, [&](std::span<const std::uint8_t> s) { h.Update(s); });
  if (!n) return std::unexpected(n.error());
  return FileDigests{h.Finish(), *n};
}

Result<Blake2b512Digest> Blake2b512File(const std::filesystem::path& path) {
  Blake2b512 h;
  auto n = StreamFile(path, [&](std::span<const std::uint8_t> s) { h.Update(s); });
  if (!n) return std::unexpected(n.error());
  return h.Finish();
}

std::string HexEncode(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (auto b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::optional<std::vector<std::uint8_t>> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::vector<std::uint8_t> out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = HexValue(hex[2 * i]);
    const int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return out;
}

std::optional<Sha256Digest> ParseSha256Hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  auto bytes = HexDecode(hex);
  Sha256Digest d{};
  std::memcpy(d.data(), bytes->data(), d.size());
  return d;
}

}  // namespace steward
