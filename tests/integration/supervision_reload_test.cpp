// A configuration reload on a real updater with real children: `steward-updater reload` and
// SIGHUP apply what changed in updater.toml and leave every other component's process alone;
// a bad file changes nothing and says why.
#include <gtest/gtest.h>
#include <signal.h>

#include "common/codes.hpp"
#include "tests/integration/supervision_harness.hpp"

namespace steward::test {
namespace {

bool Running(const json& unit) { return unit["state"] == "running"; }

TEST(SupervisionReload, ReloadAddsRestartsAndKeepsWhatDidNotChange) {
  TempDir dir;
  UpdaterProcess u(dir);
  const std::string kept = Component("kept", {"--hang"}, "stop_timeout = \"1s\"");
  u.Start(kept + Component("changed", {"--hang"}, "stop_timeout = \"1s\""));
  ASSERT_TRUE(u.WaitUnit("kept", Running));
  ASSERT_TRUE(u.WaitUnit("changed", Running));
  const int kept_pid = u.Unit("kept")["pid"];
  const int changed_pid = u.Unit("changed")["pid"];

  u.WriteConfig(kept + Component("changed", {"--status", "v2", "--hang"}, "stop_timeout = \"1s\"") +
                Component("added", {"--hang"}, "stop_timeout = \"1s\""));
  auto r = u.Cli({"reload"});
  ASSERT_EQ(r.status.code(), 0) << r.err << u.Logs();
  EXPECT_NE(r.out.find("added added"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("restarted changed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unchanged kept"), std::string::npos) << r.out;
  EXPECT_TRUE(u.WaitUnit("added", Running)) << u.Logs();
  EXPECT_TRUE(u.WaitUnit("changed",
                         [&](const json& j) {
                           return Running(j) && j["pid"].get<int>() != changed_pid &&
                                  j["status"] == "v2";
                         }))
      << u.Logs() << "started anew with its new arguments";
  EXPECT_FALSE(Alive(changed_pid));
  EXPECT_EQ(u.Unit("kept")["pid"], kept_pid) << "a component that did not change is left alone";
  EXPECT_EQ(Kind(u.Unit("changed")), "requested") << "a restart is a requested stop";

  // A file that does not parse: refused with check-config's message, nothing changes.
  const int added_pid = u.Unit("added")["pid"];
  u.WriteConfig(kept + "[[component]\nname = \"broken\"\n");
  auto check = RunProgram({Bin("steward-updater"), "check-config", "--config", u.config_path()});
  ASSERT_NE(check.status.code(), 0);
  auto bad = u.Cli({"reload"});
  EXPECT_EQ(bad.status.code(), exit_code::kConfig) << bad.out << bad.err;
  const std::string reason = check.err.substr(0, check.err.find('\n'));
  EXPECT_NE(bad.err.find(reason.substr(reason.find(": ") + 2)), std::string::npos)
      << "reload: " << bad.err << "check-config: " << check.err;
  EXPECT_EQ(u.Unit("added")["pid"], added_pid);
  EXPECT_EQ(u.Unit("kept")["pid"], kept_pid);

  // A setting only a restart can change: refused as a whole, the new component is not added.
  u.WriteConfig("log_format = \"json\"\n" + kept + Component("another", {"--hang"}));
  auto fixed = u.Cli({"reload"});
  EXPECT_EQ(fixed.status.code(), exit_code::kConfig);
  EXPECT_NE(fixed.err.find("log_format"), std::string::npos) << fixed.err;
  EXPECT_TRUE(u.Unit("another").is_null());
  EXPECT_EQ(u.Unit("added")["pid"], added_pid);
}

TEST(SupervisionReload, SighupRemovesAComponentAndStopsItsProcess) {
  TempDir dir;
  UpdaterProcess u(dir);
  const std::string kept = Component("kept", {"--hang"}, "stop_timeout = \"1s\"");
  u.Start(kept + Component("gone", {"--hang"}, "stop_timeout = \"1s\""));
  ASSERT_TRUE(u.WaitUnit("gone", Running));
  ASSERT_TRUE(u.WaitUnit("kept", Running));
  const int gone_pid = u.Unit("gone")["pid"];
  const int kept_pid = u.Unit("kept")["pid"];
  const auto notify = dir / "run" / "notify" / "gone.notify";
  ASSERT_TRUE(std::filesystem::exists(notify));

  u.WriteConfig(kept);
  u.proc().Signal(SIGHUP);
  ASSERT_TRUE(Eventually(
      [&] {
        const json s = u.Status();
        return s.is_object() && s["components"].size() == 1;
      },
      std::chrono::seconds(20)))
      << u.Logs();
  EXPECT_TRUE(Eventually([&] { return !Alive(gone_pid); }, std::chrono::seconds(10)));
  EXPECT_FALSE(std::filesystem::exists(notify)) << "its notify socket goes with it";
  EXPECT_EQ(u.Unit("kept")["pid"], kept_pid);
  EXPECT_TRUE(u.proc().running()) << "SIGHUP does not stop the updater";
}

}  // namespace
}  // namespace steward::test
