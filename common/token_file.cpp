#include "common/token_file.hpp"

#include "common/files.hpp"

namespace steward {

namespace {
constexpr std::size_t kMaxTokenFile = 64 * 1024;
}  // namespace

Result<std::vector<std::string>> ReadTokenFile(const std::string& path) {
  auto text = files::ReadFile(path, kMaxTokenFile);
  if (!text) return std::unexpected(text.error().Wrap("token file " + path));
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text->size()) {
    auto end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    std::string line = text->substr(start, end - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.pop_back();
    }
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.erase(0, 1);
    if (!line.empty() && line.front() != '#') {
      if (line.size() < 16) {
        return Fail(ErrorCode::config_invalid,
                    "token file " + path + ": a token is shorter than 16 characters");
      }
      out.push_back(line);
    }
    start = end + 1;
  }
  if (out.empty()) {
    return Fail(ErrorCode::config_invalid, "token file " + path + " holds no token");
  }
  return out;
}

}  // namespace steward
