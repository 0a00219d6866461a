#include "tests/support/postgres.hpp"

#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>

namespace steward::test {

namespace fs = std::filesystem;

namespace {

// The newest installed server's bin directory, "" when there is none.
std::string FindPostgres() {
  std::string best;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const auto bin = e.path() / "bin";
    if (fs::exists(bin / "postgres") && fs::exists(bin / "initdb") && bin.string() > best) {
      best = bin.string();
    }
  }
  return best;
}

}  // namespace

TempPostgres::TempPostgres() : bin_(FindPostgres()) {
  if (bin_.empty()) {
    skipped_ = "PostgreSQL is not installed (apt-get install postgresql)";
    return;
  }
  const fs::path data = dir_ / "data";
  fs::create_directories(data);
  if (::geteuid() == 0) {
    const passwd* nobody = ::getpwnam("nobody");
    if (nobody == nullptr) {
      skipped_ = "running as root and there is no user 'nobody' to run PostgreSQL as";
      return;
    }
    // The server's user must reach its directories; they are removed with the test's.
    fs::permissions(dir_.path(),
                    fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    for (const auto& p : {dir_.path(), data}) {
      if (::chown(p.c_str(), nobody->pw_uid, nobody->pw_gid) != 0) {
        skipped_ = "cannot hand " + p.string() + " to 'nobody'";
        return;
      }
    }
  }
  auto init =
      RunProgram(AsServerUser({bin_ + "/initdb", "-D", data.string(), "-U", "steward",
                               "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"}));
  if (init.status.code() != 0) {
    Fail("initdb failed: " + init.out + init.err);
    return;
  }
  Start();
}

void TempPostgres::Start() {
  server_.emplace(Child::Spawn(
      AsServerUser({bin_ + "/postgres", "-D", (dir_ / "data").string(), "-k", dir_.path().string(),
                    "-c", "listen_addresses=", "-c", "fsync=off", "-c", "max_connections=50"})));
  if (!server_->WaitForOutput("ready to accept connections", 30s)) {
    Fail("the server did not start: " + server_->Stderr());
  }
}

TempPostgres::~TempPostgres() { Stop(); }

void TempPostgres::Fail(const std::string& why) {
  ADD_FAILURE() << why;
  skipped_ = why;  // the test stops there
}

void TempPostgres::Stop() {
  if (!server_ || !server_->running()) return;
  server_->Signal(SIGINT);  // fast shutdown: clients are disconnected, nothing is kept waiting
  server_->Wait(20s);
}

std::string TempPostgres::ConnInfo(const std::string& db) const {
  return "host=" + dir_.path().string() + " user=steward dbname=" + db;
}

std::string TempPostgres::Url(const std::string& db) const {
  return "postgresql://steward@/" + db + "?host=" + dir_.path().string();
}

std::vector<std::string> TempPostgres::AsServerUser(std::vector<std::string> argv) const {
  if (::geteuid() != 0) return argv;
  argv.insert(argv.begin(),
              {"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"});
  return argv;
}

}  // namespace steward::test
