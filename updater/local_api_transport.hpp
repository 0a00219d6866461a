// Where the local API listens: a unix socket on POSIX (local_api_transport_posix.cpp), which
// only root and the socket's group may open. A port to another platform adds its own file
// (a named pipe, say) instead of conditions in the API or the daemon.
#pragma once

#include <memory>
#include <string>

#include "common/error.hpp"
#include "common/http_server.hpp"

namespace steward::updater {

// Listens at `address` (the config's `socket`) with the local API's limits; serving starts
// with Start(). The address's directory must exist.
Result<std::unique_ptr<http::Server>> ListenLocalApi(const std::string& address,
                                                     http::Router router);

}  // namespace steward::updater
