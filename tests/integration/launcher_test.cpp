// The packaged updater as launcher of self-update: it runs the current self-updated version in
// place, and passes over a broken one after repeated failed starts, so a bad updater release
// cannot strand a host.
#include "updater/launcher.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "common/files.hpp"
#include "tests/integration/supervision_harness.hpp"
#include "updater/layout.hpp"

namespace steward::test {
namespace {

namespace fs = std::filesystem;

fs::path UpdaterComponent(const TempDir& dir) {
  return updater::ComponentLayout(dir / "state", updater::kUpdaterComponent).Dir();
}

// Installs `content` as the steward-updater of version `version` and makes it current.
fs::path InstallCurrent(const TempDir& dir, const std::string& version, const std::string& from) {
  const fs::path vdir = UpdaterComponent(dir) / "versions" / version;
  fs::create_directories(vdir);
  fs::copy_file(from, vdir / "steward-updater", fs::copy_options::overwrite_existing);
  fs::permissions(vdir / "steward-updater", fs::perms::owner_all);
  EXPECT_TRUE(files::SwitchSymlink(UpdaterComponent(dir) / "current", "versions/" + version));
  return fs::canonical(vdir / "steward-updater");
}

TEST(Launcher, RunsTheCurrentSelfUpdatedVersionInPlace) {
  TempDir dir;
  const fs::path copy = InstallCurrent(dir, "9.0.0-aaaaaaaa", Bin("steward-updater"));
  UpdaterProcess updater(dir);
  updater.Start("");
  // Same process, now running the installed copy.
  EXPECT_EQ(fs::read_symlink("/proc/" + std::to_string(updater.proc().pid()) + "/exe"), copy);
  // It started properly, so its launch count is cleared.
  EXPECT_TRUE(Eventually(
      [&] {
        auto text = files::ReadFile(UpdaterComponent(dir) / "launch-attempts", 4096);
        return text && *text == "0 " + copy.string() + "\n";
      },
      std::chrono::seconds(10)));
  EXPECT_EQ(updater.Stop()->code(), 0);
}

TEST(Launcher, ABrokenUpdaterReleaseIsPassedOverAfterThreeFailedStarts) {
  TempDir dir;
  // A release that dies at once, leaving a mark each time it is run.
  const auto broken = dir.Write(
      "broken.sh", "#!/bin/sh\necho ran >> \"" + (dir / "broken-runs").string() + "\"\nexit 3\n");
  InstallCurrent(dir, "9.9.9-deadbeef", broken);
  const std::string config = "state_dir = \"" + (dir / "state").string() + "\"\nsocket = \"" +
                             (dir / "api.sock").string() + "\"\n";
  const auto config_path = dir.Write("updater.toml", config);
  for (int i = 1; i <= 3; ++i) {
    auto r = RunProgram({Bin("steward-updater"), "run", "--config", config_path});
    EXPECT_EQ(r.status.code(), 3) << "start " << i << ": " << r.err;
  }
  EXPECT_EQ(files::ReadFile(dir / "broken-runs", 100).value(), "ran\nran\nran\n");
  // The fourth start runs the packaged updater itself, which serves.
  UpdaterProcess updater(dir);
  updater.Start("");
  EXPECT_EQ(fs::read_symlink("/proc/" + std::to_string(updater.proc().pid()) + "/exe"),
            fs::canonical(Bin("steward-updater")));
  EXPECT_NE(updater.Logs().find("failed to start 3 times"), std::string::npos) << updater.Logs();
  EXPECT_EQ(files::ReadFile(dir / "broken-runs", 100).value(), "ran\nran\nran\n");
  EXPECT_EQ(updater.Stop()->code(), 0);
}

}  // namespace
}  // namespace steward::test
