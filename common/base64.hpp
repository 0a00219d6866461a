// Standard padded base64 (RFC 4648 §4), as minisign writes it. Decoding is strict: the exact
// length for the expected byte count, only the standard alphabet, correct padding and zero
// unused bits, so one key or signature has exactly one text form.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace steward {

std::string Base64Encode(std::span<const std::uint8_t> bytes);
// nullopt when `text` is not canonical padded base64.
std::optional<std::vector<std::uint8_t>> Base64Decode(std::string_view text);
// The length of the padded base64 text for `bytes` bytes.
constexpr std::size_t Base64Length(std::size_t bytes) { return (bytes + 2) / 3 * 4; }

}  // namespace steward
