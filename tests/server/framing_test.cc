// Request framing against a real socket (issue 16): every request whose framing is in doubt is
// answered once with a 4xx/5xx and the connection closed, so bytes after it are never read as a
// second request (request smuggling). Also the conformance fixes: absolute-form targets, Host
// required on HTTP/1.1, HEAD wherever GET is.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <string>

#include "http_test_client.h"
#include "server/request_framing.h"
#include "test_server.h"

namespace modelrt::testing {
namespace {

// What a request smuggler appends: a second request hidden where the body would be.
const std::string kSmuggled = "GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: SMUGGLED\r\n\r\n";

// Status lines ("HTTP/1.1 200 "), not mentions of HTTP/1.1 in an error message.
size_t CountResponses(const std::string& all) {
  size_t count = 0;
  for (size_t pos = 0; (pos = all.find("HTTP/1.1 ", pos)) != std::string::npos; ++pos) {
    if (pos + 12 < all.size() && std::isdigit(static_cast<unsigned char>(all[pos + 9])) &&
        std::isdigit(static_cast<unsigned char>(all[pos + 10])) &&
        std::isdigit(static_cast<unsigned char>(all[pos + 11])) && all[pos + 12] == ' ') {
      ++count;
    }
  }
  return count;
}

// Sends `bytes` and reads until the server closes.
std::string Exchange(int port, const std::string& bytes) {
  RawConnection c(port);
  EXPECT_TRUE(c.connected());
  c.Send(bytes);
  return c.ReadAll();
}

// Exactly one response, with `status`, "Connection: close", and nothing smuggled answered.
void ExpectRefusedAndClosed(const std::string& reply, int status) {
  EXPECT_EQ(reply.rfind("HTTP/1.1 " + std::to_string(status), 0), 0u) << reply;
  EXPECT_EQ(CountResponses(reply), 1u) << reply;
  EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
  EXPECT_EQ(reply.find("SMUGGLED"), std::string::npos) << reply;
}

std::string Post(const std::string& framing) {
  return "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + framing +
         "\r\n";
}

class FramingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new TestServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  int port() const { return server_->port(); }
  static TestServer* server_;
};
TestServer* FramingTest::server_ = nullptr;

TEST_F(FramingTest, FinalCodingNotChunkedIsRefusedAndClosed) {
  // The issue's repro: answered 400, then 200 to the smuggled request, before the fix.
  ExpectRefusedAndClosed(Exchange(port(), Post("Transfer-Encoding: chunked, identity\r\n") + kSmuggled),
                         400);
  for (const char* coding : {"gzip", "xchunked", "identity", "chunked, gzip", "chunkedx", ""}) {
    SCOPED_TRACE(coding);
    ExpectRefusedAndClosed(
        Exchange(port(), Post(std::string("Transfer-Encoding: ") + coding + "\r\n") + kSmuggled),
        400);
  }
  // Two fields, the last not chunked.
  ExpectRefusedAndClosed(
      Exchange(port(), Post("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n") +
                           "0\r\n\r\n" + kSmuggled),
      400);
}

TEST_F(FramingTest, UnsupportedCodingBeforeChunkedIs501AndClosed) {
  ExpectRefusedAndClosed(
      Exchange(port(), Post("Transfer-Encoding: gzip, chunked\r\n") + "0\r\n\r\n" + kSmuggled), 501);
}

TEST_F(FramingTest, ContentLengthWithTransferEncodingIsRefusedAndClosed) {
  ExpectRefusedAndClosed(
      Exchange(port(), Post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n") + "0\r\n\r\n" +
                           kSmuggled),
      400);
  ExpectRefusedAndClosed(
      Exchange(port(), Post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n") + "0\r\n\r\n" +
                           kSmuggled),
      400);
}

TEST_F(FramingTest, DuplicateContentLengthIsRefusedAndClosed) {
  std::string body = R"({"model":"embed","input":"hello"})";
  std::string n = std::to_string(body.size());
  ExpectRefusedAndClosed(
      Exchange(port(), Post("Content-Length: " + n + "\r\nContent-Length: " + n + "\r\n") + body +
                           kSmuggled),
      400);
  ExpectRefusedAndClosed(
      Exchange(port(), Post("Content-Length: " + n + "\r\nContent-Length: 0\r\n") + body + kSmuggled),
      400);
  ExpectRefusedAndClosed(
      Exchange(port(), Post("Content-Length: " + n + ", " + n + "\r\n") + body + kSmuggled), 400);
}

TEST_F(FramingTest, BareLfChunksAreRefusedAndClosed) {
  std::string body = R"({"model":"embed","input":"hi"})";
  char size[16];
  std::snprintf(size, sizeof(size), "%zx", body.size());
  ExpectRefusedAndClosed(
      Exchange(port(), Post("Transfer-Encoding: chunked\r\n") + size + "\n" + body + "\n0\n\n" +
                           kSmuggled),
      400);
  ExpectRefusedAndClosed(
      Exchange(port(), Post("Transfer-Encoding: chunked\r\n") + size + "\r\n" + body + "\r\n0\n\n" +
                           kSmuggled),
      400);
}

TEST_F(FramingTest, BareLfHeaderLinesAreRefusedAndClosed) {
  ExpectRefusedAndClosed(Exchange(port(), "GET /health HTTP/1.1\nHost: x\n\n" + kSmuggled), 400);
  ExpectRefusedAndClosed(Exchange(port(), "GET /health HTTP/1.1\r\nHost: x\n\r\n" + kSmuggled), 400);
}

TEST_F(FramingTest, ObsFoldIsRefusedEverywhere) {
  // On the framing fields...
  ExpectRefusedAndClosed(
      Exchange(port(), Post("Transfer-Encoding: identity,\r\n chunked\r\n") + "0\r\n\r\n" + kSmuggled),
      400);
  ExpectRefusedAndClosed(
      Exchange(port(), Post("Transfer-Encoding:\r\n\tchunked\r\n") + "0\r\n\r\n" + kSmuggled), 400);
  ExpectRefusedAndClosed(Exchange(port(), Post("Content-Length:\r\n 0\r\n") + kSmuggled), 400);
  // ...and on any other.
  ExpectRefusedAndClosed(
      Exchange(port(), "GET /health HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n b\r\n\r\n" + kSmuggled), 400);
}

TEST_F(FramingTest, ValidChunkedBodyKeepsTheConnection) {
  std::string body = R"({"model":"embed","input":"hello"})";
  char size[16];
  std::snprintf(size, sizeof(size), "%zx", body.size());
  std::string reply = Exchange(
      port(), Post("Transfer-Encoding: chunked\r\n") + size + "\r\n" + body + "\r\n0\r\n\r\n" +
                  "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_EQ(CountResponses(reply), 2u) << reply;
  EXPECT_NE(reply.find("\"usage\""), std::string::npos) << reply;
}

TEST_F(FramingTest, AbsoluteFormTargetIsServed) {
  std::string reply = Exchange(
      port(), "GET http://127.0.0.1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  reply = Exchange(port(),
                   "GET HTTP://example.com:8080/v1/models?x=1 HTTP/1.1\r\nHost: example.com\r\n"
                   "Connection: close\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_NE(reply.find("\"object\":\"list\""), std::string::npos) << reply;
}

TEST_F(FramingTest, Http11WithoutHostIs400) {
  ExpectRefusedAndClosed(Exchange(port(), "GET /health HTTP/1.1\r\n\r\n" + kSmuggled), 400);
  ExpectRefusedAndClosed(
      Exchange(port(), "GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + kSmuggled), 400);
  // HTTP/1.0 has no Host requirement.
  std::string reply = Exchange(port(), "GET /health HTTP/1.0\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
}

TEST_F(FramingTest, HeadIsAnsweredWhereGetIs) {
  HttpResult get = HttpCall(port(), "GET", "/v1/models");
  ASSERT_EQ(get.status, 200);
  for (const char* path : {"/health", "/v1/models", "/metrics"}) {
    SCOPED_TRACE(path);
    RawConnection c(port());
    // A HEAD and then a GET on one connection: a body after the HEAD's header would be read as
    // the second response's start.
    c.Send(std::string("HEAD ") + path + " HTTP/1.1\r\nHost: x\r\n\r\n" +
           "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::string all = c.ReadAll();
    EXPECT_EQ(all.rfind("HTTP/1.1 200", 0), 0u) << all;
    size_t head_end = all.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos) << all;
    EXPECT_EQ(all.compare(head_end + 4, 9, "HTTP/1.1 "), 0) << all;
    EXPECT_NE(all.substr(0, head_end).find("Content-Length: "), std::string::npos) << all;
    EXPECT_EQ(CountResponses(all), 2u) << all;
  }
  RawConnection c(port());
  c.Send("HEAD /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string all = c.ReadAll();
  EXPECT_NE(all.find("Content-Length: " + std::to_string(get.body.size()) + "\r\n"),
            std::string::npos)
      << all;
  // HEAD on a POST-only route is a 405, as GET is.
  all = Exchange(port(), "HEAD /v1/embeddings HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(all.rfind("HTTP/1.1 405", 0), 0u) << all;
  EXPECT_EQ(all.find("\r\n\r\n") + 4, all.size()) << all;
}

TEST(RequestFramingTest, OriginForm) {
  using server::OriginForm;
  EXPECT_EQ(OriginForm("/health"), "/health");
  EXPECT_EQ(OriginForm("http://h/health"), "/health");
  EXPECT_EQ(OriginForm("https://h:8/a/b?c=d"), "/a/b?c=d");
  EXPECT_EQ(OriginForm("http://h"), "/");
  EXPECT_EQ(OriginForm("http://h?x=1"), "/?x=1");
  EXPECT_EQ(OriginForm("*"), "*");
  EXPECT_EQ(OriginForm("ftp://h/x"), "ftp://h/x");
}

TEST(RequestFramingTest, FindHeaderEnd) {
  using server::FindHeaderEnd;
  EXPECT_EQ(FindHeaderEnd("GET / HTTP/1.1\r\nHost: x\r\n"), std::string_view::npos);
  EXPECT_EQ(FindHeaderEnd("GET / HTTP/1.1\r\n\r\nxyz"), 18u);
  EXPECT_EQ(FindHeaderEnd("GET / HTTP/1.1\n\nxyz"), 16u);
}

}  // namespace
}  // namespace modelrt::testing
