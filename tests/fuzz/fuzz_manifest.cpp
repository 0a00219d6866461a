// Release manifests: the strict parser, and the full check with a root whose release key signs
// the input, so the fuzzer reaches every check after the signatures.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/trust.hpp"

namespace {

struct Fixture {
  steward::minisign::SecretKey key = steward::minisign::SecretKey::Generate();
  steward::trust::Root root;
  Fixture() {
    root.version = 1;
    root.expires = steward::WallTime::max();
    root.keys.emplace("k", key.public_key());
    root.release = {{"k"}, 1};
    root.root = {{"k"}, 1};
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace steward::trust;
  static const Fixture f;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)ParseManifest(text);
  auto sig = steward::minisign::SignBytes(f.key, text, "fuzz");
  if (!sig) std::abort();
  const std::vector<std::string> sigs = {sig->ToFile()};
  Expect expect;
  expect.component = "agent";
  expect.channel = "stable";
  expect.platform = "linux-x86_64";
  expect.updater_version = steward::SemVer{1, 0, 0, {}, {}};
  auto r = VerifyRelease(f.root, text, sigs, Floor{}, expect, steward::WallTime{});
  if (r && r->manifest.component != "agent") std::abort();
  return 0;
}
