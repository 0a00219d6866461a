// The artifact probe a publish runs: every artifact URL (and mirror) must answer a HEAD with
// 2xx and the size the manifest declares. URLs this controller serves itself are checked in
// its blob directory instead of over HTTP, which would need a free server thread.
#pragma once

#include <functional>
#include <string>

#include "controller/releases.hpp"

namespace steward::controller {

struct HttpProbeOptions {
  bool allow_insecure_http = false;  // plain-http artifact URLs beyond loopback
  std::string ca_file;               // CA bundle for https URLs; empty: the system's
  std::string blob_dir;
  // This controller's public URL as it is now (it is set once the listening port is known).
  std::function<std::string()> public_url;
};

class HttpArtifactProbe final : public ArtifactProbe {
 public:
  explicit HttpArtifactProbe(HttpProbeOptions options);
  Result<void> Check(const trust::Manifest& manifest) override;

 private:
  HttpProbeOptions opt_;
};

}  // namespace steward::controller
