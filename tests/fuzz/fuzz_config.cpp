// The three config files (updater.toml, agent.toml, controller.toml): an operator's typo or a
// hostile file must give an error naming the key, never a crash. The first byte picks the
// parser; the rest is the file.
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/config.hpp"
#include "controller/config.hpp"
#include "updater/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      (void)steward::updater::ParseConfig(text, "updater.toml");
      break;
    case 1:
      (void)steward::agent::ParseConfig(text, "agent.toml");
      break;
    case 2:
      (void)steward::controller::ParseConfig(text, "controller.toml");
      break;
  }
  return 0;
}
