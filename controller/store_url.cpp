#include "controller/store_url.hpp"

#include <string>

namespace steward::controller {

bool IsPostgresUrl(std::string_view url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

bool HasPassword(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return false;
  const auto rest = url.substr(scheme + 3);
  const auto authority = rest.substr(0, rest.find_first_of("/?"));
  const auto at = authority.rfind('@');
  if (at != std::string_view::npos && authority.substr(0, at).find(':') != std::string_view::npos) {
    return true;
  }
  const auto query = rest.find('?');
  if (query == std::string_view::npos) return false;
  const auto params = "&" + std::string(rest.substr(query + 1));
  return params.find("&password=") != std::string::npos;
}

}  // namespace steward::controller
