// A throwaway PostgreSQL server for tests: initdb in a temp directory, then `postgres` listening
// on a unix socket in that directory only (no TCP), fsync off, stopped and removed when the test
// ends. PostgreSQL refuses to run as root: when the tests do, the server runs as `nobody`.
#pragma once

#include <optional>
#include <string>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::test {

class TempPostgres {
 public:
  // Starts the server; Skipped() says why when it could not (no PostgreSQL installed).
  TempPostgres();
  ~TempPostgres();
  TempPostgres(const TempPostgres&) = delete;
  TempPostgres& operator=(const TempPostgres&) = delete;

  // Why the server is not there ("" when it runs): a test calls GTEST_SKIP with it.
  const std::string& Skipped() const { return skipped_; }
  // A libpq connection string for database `db` as the superuser `steward`.
  std::string ConnInfo(const std::string& db = "postgres") const;
  // The same as a postgresql:// URI, the form a controller's `store` takes.
  std::string Url(const std::string& db = "postgres") const;
  // Stops the server now (fast shutdown), as a crash of the database would look to a client.
  void Stop();
  // Starts the stopped server again on the same data and socket.
  void Start();

 private:
  // A failure of the test (the server should have started), which also ends it through Skipped.
  void Fail(const std::string& why);
  // argv run as the server's user (`nobody` when the tests run as root).
  std::vector<std::string> AsServerUser(std::vector<std::string> argv) const;

  TempDir dir_;
  std::string bin_;
  std::string skipped_;
  std::optional<Child> server_;
};

}  // namespace steward::test
