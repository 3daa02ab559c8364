// The admin HTTP client against real loopback sockets: what it sends, and each way a server
// can fail it (refused, an HTTP error, garbage, an early close, a cut-off body, silence).
#include "cli/admin_client.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "scripted_server.h"

namespace modelrt::cli {
namespace {

using testing::ClosedPort;
using testing::HttpReply;
using testing::RecordedRequest;
using testing::Reply;
using testing::ScriptedServer;

AdminClientOptions OptionsFor(const std::string& url, std::string key = "k-123") {
  AdminClientOptions o;
  o.server = ParseServerUrl(url).value();
  o.admin_key = std::move(key);
  o.connect_timeout = std::chrono::seconds(5);
  o.timeout = std::chrono::seconds(20);
  return o;
}

ScriptedServer::Handler Always(std::string bytes) {
  return [bytes](const RecordedRequest&) { return Reply::Bytes(bytes); };
}

TEST(AdminClientTest, SendsMethodTargetKeyAndJsonBody) {
  ScriptedServer server(Always(HttpReply(200, R"({"alias":"chat","state":"loaded"})")));
  AdminClient client(OptionsFor(server.url() + "/prefix"));
  nlohmann::json body = {{"model", "/m.gguf"}};
  Result<HttpAnswer> r = client.Call("POST", "/admin/models/chat/reload", &body);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->json["state"], "loaded");
  EXPECT_EQ(r->body, R"({"alias":"chat","state":"loaded"})");

  std::vector<RecordedRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/prefix/admin/models/chat/reload");
  EXPECT_EQ(seen[0].Header("Authorization"), "Bearer k-123");
  EXPECT_EQ(seen[0].Header("Content-Type"), "application/json");
  EXPECT_EQ(seen[0].Header("Host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(nlohmann::json::parse(seen[0].body), body);
}

TEST(AdminClientTest, NoKeyNoAuthorizationHeaderAndNoBodyNoContentType) {
  ScriptedServer server(Always(HttpReply(200, R"({"data":[]})")));
  AdminClient client(OptionsFor(server.url(), ""));
  ASSERT_TRUE(client.Call("GET", "/admin/models").ok());
  std::vector<RecordedRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].Header("Authorization"), "");
  EXPECT_EQ(seen[0].Header("Content-Type"), "");
  EXPECT_EQ(seen[0].body, "");
}

TEST(AdminClientTest, RefusedConnectionNamesTheServer) {
  const std::string url = "http://127.0.0.1:" + std::to_string(ClosedPort());
  AdminClient client(OptionsFor(url));
  Result<HttpAnswer> r = client.Call("GET", "/admin/models");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.error().message(), "cannot reach modelrt server at " + url + ": Connection refused");
}

TEST(AdminClientTest, UnknownHostCannotBeReached) {
  AdminClient client(OptionsFor("http://no-such-host.invalid:8080"));
  Result<HttpAnswer> r = client.Call("GET", "/admin/models");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message().rfind(
                "cannot reach modelrt server at http://no-such-host.invalid:8080: ", 0),
            0u)
      << r.error().message();
}

TEST(AdminClientTest, HttpErrorCarriesTheServersMessageAndStatus) {
  ScriptedServer server(Always(HttpReply(
      409,
      R"({"error":{"message":"provider 'local' is used by chat, embed","type":"conflict_error","code":"conflict"}})")));
  AdminClient client(OptionsFor(server.url()));
  Result<HttpAnswer> r = client.Call("DELETE", "/admin/providers/local?policy=block");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.error().message(), "provider 'local' is used by chat, embed (HTTP 409)");
}

TEST(AdminClientTest, StatusCodesMapToStatusCodes) {
  EXPECT_EQ(StatusFromHttpError(404, "").code(), StatusCode::kNotFound);
  EXPECT_EQ(StatusFromHttpError(400, "").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusFromHttpError(403, "").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(StatusFromHttpError(503, "").code(), StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromHttpError(504, "").code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(StatusFromHttpError(418, "").code(), StatusCode::kUnknown);
  // Without the server's JSON error: the body's first line, else the reason phrase.
  EXPECT_EQ(StatusFromHttpError(502, "Bad gateway\nfrom nginx").message(),
            "Bad gateway... (HTTP 502)");
  EXPECT_EQ(StatusFromHttpError(404, "").message(), "Not Found (HTTP 404)");
  EXPECT_EQ(StatusFromHttpError(500, R"({"error":"boom"})").message(), "boom (HTTP 500)");
}

TEST(AdminClientTest, ForbiddenWithoutAKeySaysHowToGiveOne) {
  ScriptedServer server(Always(HttpReply(
      403,
      R"({"error":{"message":"admin key required","type":"permission_error","code":"admin_key_required"}})")));
  Result<HttpAnswer> no_key =
      AdminClient(OptionsFor(server.url(), "")).Call("GET", "/admin/models");
  ASSERT_FALSE(no_key.ok());
  EXPECT_EQ(no_key.error().message(),
            "admin key required (HTTP 403); no admin key was given: set MODELRT_ADMIN_KEY or pass "
            "--admin-key-file");
  Result<HttpAnswer> wrong =
      AdminClient(OptionsFor(server.url(), "wrong")).Call("GET", "/admin/models");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().message(), "admin key required (HTTP 403)");
}

TEST(AdminClientTest, GarbageInsteadOfHttpIsAnError) {
  ScriptedServer server(Always("SSH-2.0-OpenSSH_9.2\r\n\r\n"));
  Result<HttpAnswer> r = AdminClient(OptionsFor(server.url())).Call("GET", "/admin/models");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(
      r.error().message().rfind(
          "no complete answer from modelrt server at " + server.url() + ": not an HTTP answer", 0),
      0u)
      << r.error().message();
}

TEST(AdminClientTest, ClosedWithoutAnAnswerIsAnError) {
  ScriptedServer server([](const RecordedRequest&) { return Reply::Close(); });
  Result<HttpAnswer> r = AdminClient(OptionsFor(server.url())).Call("GET", "/admin/models");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "no complete answer from modelrt server at " + server.url() +
                                     ": the connection closed without an answer");
  EXPECT_EQ(server.requests().size(), 1u);  // it did get the request
}

TEST(AdminClientTest, CutOffBodyIsAnError) {
  ScriptedServer server(
      Always("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
             "100\r\n\r\n{\"data\":["));
  Result<HttpAnswer> r = AdminClient(OptionsFor(server.url())).Call("GET", "/admin/models");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "no complete answer from modelrt server at " + server.url() +
                                     ": the answer was cut off (connection closed early)");
}

TEST(AdminClientTest, SuccessWithANonJsonBodyIsAnError) {
  ScriptedServer server(Always(HttpReply(200, "<html>welcome to nginx</html>", "text/html")));
  Result<HttpAnswer> r = AdminClient(OptionsFor(server.url())).Call("GET", "/admin/models");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "modelrt server at " + server.url() +
                                     " answered HTTP 200 with a body that is not JSON: "
                                     "'<html>welcome to nginx</html>'");
  // Exchange does not judge the body.
  Result<HttpAnswer> raw = AdminClient(OptionsFor(server.url())).Exchange("GET", "/admin/models");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->body, "<html>welcome to nginx</html>");
}

TEST(AdminClientTest, SilentServerRunsIntoTheTimeout) {
  ScriptedServer server([](const RecordedRequest&) { return Reply::Hang(); });
  AdminClientOptions o = OptionsFor(server.url());
  o.timeout = std::chrono::milliseconds(300);
  Result<HttpAnswer> r = AdminClient(std::move(o)).Call("POST", "/admin/models/chat/load");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.error().message(),
            "no answer from modelrt server at " + server.url() + " within 0.3s (see --timeout)");
}

TEST(AdminClientTest, OversizedAnswerIsRefused) {
  ScriptedServer server(Always(HttpReply(200, "[" + std::string(3 << 20, ' ') + "]")));
  AdminClientOptions o = OptionsFor(server.url());
  o.max_body_bytes = 1 << 20;
  Result<HttpAnswer> r = AdminClient(std::move(o)).Call("GET", "/admin/models");
  ASSERT_FALSE(r.ok()) << r->body.size();
  EXPECT_NE(r.error().message().find("larger than 1 MiB"), std::string::npos)
      << r.error().message();
}

TEST(AdminClientTest, OversizedChunkedAnswerIsRefused) {
  const std::string chunk(512 << 10, ' ');
  std::string reply =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  char size[16];
  std::snprintf(size, sizeof(size), "%zx\r\n", chunk.size());
  for (int i = 0; i < 4; ++i) reply += size + chunk + "\r\n";
  reply += "0\r\n\r\n";
  ScriptedServer server(Always(reply));
  AdminClientOptions o = OptionsFor(server.url());
  o.max_body_bytes = 1 << 20;
  Result<HttpAnswer> r = AdminClient(std::move(o)).Exchange("GET", "/admin/models");
  ASSERT_FALSE(r.ok()) << r->body.size();
  EXPECT_NE(r.error().message().find("larger than 1 MiB"), std::string::npos)
      << r.error().message();
}

TEST(AdminClientTest, ChunkedAnswerWithinTheLimitIsRead) {
  ScriptedServer server(Always(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n"));
  Result<HttpAnswer> r = AdminClient(OptionsFor(server.url())).Call("GET", "/admin/models");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->json, nlohmann::json({{"a", 1}}));
}

TEST(AdminClientTest, UnknownMethodIsRejectedBeforeConnecting) {
  AdminClient client(OptionsFor("http://127.0.0.1:" + std::to_string(ClosedPort())));
  Result<HttpAnswer> r = client.Exchange("FROB", "/admin/models");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace modelrt::cli
