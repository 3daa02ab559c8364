// Test support: a real PostgreSQL server of the test's own (tests/support/postgres_server.sh:
// Debian's binaries, a temporary folder, 127.0.0.1 at a free port), stopped and removed when the
// object goes.
//
//   Result<std::unique_ptr<PostgresServer>> pg = PostgresServer::Start();
//   if (!pg.ok() && pg.error().code() == StatusCode::kNotFound) GTEST_SKIP() << pg.error().message();
//   ASSERT_TRUE(pg.ok()) << pg.error().ToString();
//   OpenStore((*pg)->url());
//
// Thread-safety: url() from any thread; one owner.
#pragma once

#include <memory>
#include <string>

#include "modelrt/status.h"

namespace modelrt::testing {

class PostgresServer {
 public:
  // NotFound when PostgreSQL is not installed (scripts/setup installs it); Unavailable when it
  // would not start (the message has the server's log).
  static Result<std::unique_ptr<PostgresServer>> Start();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Stops and starts the server on the same port: every client connection is dropped.
  Status Restart();

  // postgresql://postgres@127.0.0.1:<port>/postgres
  const std::string& url() const { return url_; }
  int port() const { return port_; }

 private:
  PostgresServer(std::string dir, int port);
  std::string dir_;
  int port_;
  std::string url_;
};

}  // namespace modelrt::testing
