// root.json: strict parse and signature checking against itself.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/trust.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace steward::trust;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto root = ParseRoot(text);
  if (!root) return 0;
  for (const Role* role : {&root->root, &root->release}) {
    if (role->threshold < 1 || role->threshold > role->keys.size()) std::abort();
    for (const auto& label : role->keys) {
      if (!root->keys.contains(label)) std::abort();
    }
  }
  const std::vector<std::string> none;
  if (VerifyInitialRoot(text, none)) std::abort();  // unsigned can never pass
  return 0;
}
