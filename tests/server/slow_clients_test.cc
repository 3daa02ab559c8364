// Slow and idle clients over real sockets: a connection costs the server a socket and a little
// memory, never a thread, so a thousand idle or slow-header connections stop no one else; and
// the header, body and idle timeouts (server.*_timeout_s) drop the ones that make no progress.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "core/json.h"
#include "http_test_client.h"
#include "test_server.h"

namespace modelrt::testing {
namespace {

using namespace std::chrono_literals;

// A plain blocking socket connected to the server (-1 when the connect failed).
int ConnectRaw(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void SendAll(int fd, const std::string& bytes) {
  ASSERT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
}

// Whether the server closed `fd` (EOF or reset), waiting up to `within` for it.
bool ClosedByServer(int fd, std::chrono::milliseconds within) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  char buf[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count()))) <= 0) return false;
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) return n == 0 || errno == ECONNRESET;
    // Bytes (an answer) before the close: keep reading.
  }
}

// Room for `fds` more descriptors (the soft limit raised toward the hard one); false if none.
bool RoomForDescriptors(rlim_t fds) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  if (limit.rlim_cur >= fds) return true;
  limit.rlim_cur = std::min(limit.rlim_max, fds);
  return setrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur >= fds;
}

TEST(SlowClientsTest, AThousandIdleAndSlowHeaderConnectionsStopNoOne) {
  // Client and server ends live in this one process: 2 x 1,000 sockets and the models' files.
  if (!RoomForDescriptors(2600)) GTEST_SKIP() << "RLIMIT_NOFILE below 2600 and cannot be raised";
  Config config = TestConfig();
  config.server.header_timeout_s = 2;
  config.server.idle_timeout_s = 120;
  TestServer server(config);
  const int port = server.port();

  std::vector<int> idle, slow;
  for (int i = 0; i < 800; ++i) {
    int fd = ConnectRaw(port);
    ASSERT_GE(fd, 0) << "connection " << i;
    idle.push_back(fd);
  }
  for (int i = 0; i < 200; ++i) {
    int fd = ConnectRaw(port);
    ASSERT_GE(fd, 0) << "slow connection " << i;
    SendAll(fd, "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Ty");  // and no more
    slow.push_back(fd);
  }

  // Everyone else is served meanwhile.
  for (int i = 0; i < 5; ++i) {
    HttpResult e = PostJson(port, "/v1/embeddings", {{"model", "embed"}, {"input", "a cat"}});
    EXPECT_EQ(e.status, 200) << e.body << e.error;
  }
  HttpResult chat = PostJson(port, "/v1/chat/completions",
                             {{"model", "chat"},
                              {"messages", {{{"role", "user"}, {"content", "Hi"}}}},
                              {"max_tokens", 4}});
  EXPECT_EQ(chat.status, 200) << chat.body << chat.error;
  EXPECT_EQ(HttpCall(port, "GET", "/health").status, 200);

  // The slow headers are cut off once header_timeout_s has passed; the idle connections are
  // still within their keep-alive wait and stay.
  for (int fd : slow) EXPECT_TRUE(ClosedByServer(fd, 15s));
  int still_open = 0;
  for (int fd : idle) still_open += ClosedByServer(fd, 0ms) ? 0 : 1;
  EXPECT_EQ(still_open, 800);
  for (int fd : idle) close(fd);
  for (int fd : slow) close(fd);
}

TEST(SlowClientsTest, IdleAndBodyTimeoutsDropConnectionsThatMakeNoProgress) {
  Config config = TestConfig();
  config.server.idle_timeout_s = 1;
  config.server.body_timeout_s = 1;
  config.server.header_timeout_s = 30;
  TestServer server(config);
  const int port = server.port();

  // Idle before any request, and idle after one on a keep-alive connection.
  int quiet = ConnectRaw(port);
  ASSERT_GE(quiet, 0);
  EXPECT_TRUE(ClosedByServer(quiet, 15s));
  close(quiet);
  int kept = ConnectRaw(port);
  ASSERT_GE(kept, 0);
  SendAll(kept, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(ClosedByServer(kept, 15s));  // reads the answer, then the close
  close(kept);

  // A body that stops arriving.
  int stalled = ConnectRaw(port);
  ASSERT_GE(stalled, 0);
  SendAll(stalled,
          "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          "Content-Length: 100\r\n\r\n{\"model\":");
  EXPECT_TRUE(ClosedByServer(stalled, 15s));
  close(stalled);

  // None of it cost the server anything it keeps: a new client is served.
  EXPECT_EQ(HttpCall(port, "GET", "/health").status, 200);
}

TEST(SlowClientsTest, TimeoutsAreSettingsWithDefaults) {
  ServerConfig defaults;
  EXPECT_EQ(defaults.idle_timeout_s, 60);
  EXPECT_EQ(defaults.header_timeout_s, 10);
  EXPECT_EQ(defaults.body_timeout_s, 60);
  EXPECT_EQ(defaults.write_timeout_s, 60);
  auto config = ParseConfig(R"({"server": {"idle_timeout_s": 5, "header_timeout_s": 3,
      "body_timeout_s": 7, "write_timeout_s": 9}})", "<test>");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->server.idle_timeout_s, 5);
  EXPECT_EQ(config->server.header_timeout_s, 3);
  EXPECT_EQ(config->server.body_timeout_s, 7);
  EXPECT_EQ(config->server.write_timeout_s, 9);
  auto bad = ParseConfig(R"({"server": {"header_timeout_s": 0}})", "<test>");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("header_timeout_s"), std::string::npos)
      << bad.error().message();
}

}  // namespace
}  // namespace modelrt::testing
