#include "updater/local_api_transport.hpp"

namespace steward::updater {

Result<std::unique_ptr<http::Server>> ListenLocalApi(const std::string& address,
                                                     http::Router router) {
  http::ServerOptions options;
  options.max_body = 1024 * 1024;  // an `apply` carries a manifest and its signatures
  options.server_name = "steward-updater";
  return http::Server::ListenUnix(address, std::move(router), options, 0660);
}

}  // namespace steward::updater
