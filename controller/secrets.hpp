// The controller's secrets: admin, enroll and node tokens are compared in constant time, node
// tokens are kept only as hashes, and new ids, tokens and seeds come from the kernel.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace steward::controller {

// Constant time in the contents (lengths are not secret: every token has the same length).
bool SecretEquals(std::string_view a, std::string_view b);
// Compares with every secret, no early exit.
bool AnySecretEquals(const std::vector<std::string>& secrets, std::string_view given);

// Hex SHA-256 of a node token: what the store keeps instead of the token.
std::string TokenHash(std::string_view token);

// `bytes` random bytes from the kernel, hex-encoded: node ids, node tokens, rollout seeds.
std::string RandomHex(std::size_t bytes);

}  // namespace steward::controller
