#include "support/postgres_server.h"

#include <stdlib.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

namespace modelrt::testing {

namespace {

const std::string kScript = std::string(MODELRT_SOURCE_DIR) + "/tests/support/postgres_server.sh";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Result<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  // Directly under /tmp: the server may run as `nobody`, who cannot enter the test's own folders.
  char name[] = "/tmp/modelrt-pg.XXXXXX";
  if (mkdtemp(name) == nullptr) return InternalError("mkdtemp failed");
  const std::string dir = name;
  const std::string log = dir + ".log";
  const int rc = std::system((kScript + " start " + dir + " >/dev/null 2>" + log).c_str());
  const std::string output = ReadFile(log);
  std::remove(log.c_str());
  if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77) {
    return NotFoundError("PostgreSQL is not installed (scripts/setup installs it)");
  }
  if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
    (void)std::system((kScript + " stop " + dir + " >/dev/null 2>&1").c_str());
    return UnavailableError("PostgreSQL did not start: " + output);
  }
  const int port = std::atoi(ReadFile(dir + "/port").c_str());
  return std::unique_ptr<PostgresServer>(new PostgresServer(dir, port));
}

PostgresServer::PostgresServer(std::string dir, int port)
    : dir_(std::move(dir)),
      port_(port),
      url_("postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/postgres") {}

Status PostgresServer::Restart() {
  const int rc = std::system((kScript + " restart " + dir_ + " >/dev/null 2>&1").c_str());
  if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) return UnavailableError("PostgreSQL did not restart");
  return OkStatus();
}

PostgresServer::~PostgresServer() {
  (void)std::system((kScript + " stop " + dir_ + " >/dev/null 2>&1").c_str());
}

}  // namespace modelrt::testing
