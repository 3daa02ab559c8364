// Remote aliases through the real `modelrt serve`: a client that leaves closes the upstream call,
// and an upstream that refuses our key is a 502 upstream_auth_failed that never shows the key.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "cli/serve_process.h"
#include "core/json.h"
#include "net/http_client.h"
#include "support/http_fetch.h"
#include "support/llama_test_models.h"
#include "support/upstream_server.h"

namespace modelrt {
namespace {

using namespace std::chrono_literals;
using testing::UpstreamReply;
using testing::UpstreamRequestSeen;
using testing::UpstreamServer;

std::string WriteConfig(const std::string& name, const std::string& base_url,
                        const std::string& provider_extra = "") {
  const std::string dir = testing::TestTempDir() + "/" + name;
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.yaml")
      << "providers:\n"
      << "  - { id: up, type: openai, base_url: \"" << base_url << "\"" << provider_extra
      << ", options: { probe: false, max_retries: 0 } }\n"
      << "models:\n"
      << "  - { alias: chat, task: generate, provider: up, model: m }\n"
      << "  - { alias: emb, task: embed, provider: up, model: m }\n";
  return dir;
}

TEST(ServeRemoteTest, AClientThatLeavesClosesTheUpstreamCall) {
  std::vector<std::string> events;
  for (int i = 0; i < 200; ++i) {
    events.push_back("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"w\"}}]}\n\n");
  }
  UpstreamServer upstream([&](const UpstreamRequestSeen&) {
    UpstreamReply reply = UpstreamReply::Sse(events);
    reply.chunk_delay = 100ms;  // 20 s in all, unless the call is cancelled
    return reply;
  });
  const std::string dir = WriteConfig("serve-remote-cancel", upstream.url() + "/v1");
  testing::ServeProcess serve(dir + "/config.yaml", {"MODELRT_DATA_DIR=" + dir}, dir + "/serve.log");
  ASSERT_TRUE(serve.Start()) << serve.log();

  auto cancel = std::make_shared<CancelSignal>();
  std::promise<Status> done;
  std::atomic<bool> got_piece{false};
  const Json body = {{"model", "chat"},
                     {"stream", true},
                     {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  net::HttpClient::Shared()->Stream(
      {.method = "POST",
       .url = *net::ParseUrl(serve.url() + "/v1/chat/completions"),
       .headers = {{"content-type", "application/json"}},
       .body = body.dump()},
      {.deadline = Clock::now() + 30s, .cancel = cancel},
      {.on_head = nullptr,
       .on_data =
           [&](std::string_view chunk) {
             if (chunk.find("\"w\"") != std::string_view::npos && !got_piece.exchange(true)) {
               cancel->Cancel();  // the client leaves after its first piece
             }
             return true;
           },
       .on_done = [&](Status s) { done.set_value(s); }});
  EXPECT_EQ(done.get_future().get().code(), StatusCode::kCancelled);
  EXPECT_TRUE(got_piece.load());
  // The upstream sees its connection closed long before its 20 s stream would end.
  const auto until = Clock::now() + 5s;
  while (upstream.open_connections() > 0 && Clock::now() < until) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(upstream.open_connections(), 0) << serve.log();
}

TEST(ServeRemoteTest, ARefusedUpstreamKeyIsA502ThatNeverShowsTheKey) {
  UpstreamServer upstream([](const UpstreamRequestSeen&) {
    return UpstreamReply::Json(401, R"({"error":{"message":"Incorrect API key provided"}})");
  });
  const std::string dir = WriteConfig("serve-remote-auth", upstream.url() + "/v1",
                                      ", api_key_env: MODELRT_TEST_SERVE_UPSTREAM_KEY");
  testing::ServeProcess serve(dir + "/config.yaml",
                              {"MODELRT_DATA_DIR=" + dir,
                               "MODELRT_TEST_SERVE_UPSTREAM_KEY=sk-secret-value-42"},
                              dir + "/serve.log");
  ASSERT_TRUE(serve.Start()) << serve.log();
  auto r = testing::FetchAndWait({.method = "POST",
                                  .url = *net::ParseUrl(serve.url() + "/v1/embeddings"),
                                  .headers = {{"content-type", "application/json"}},
                                  .body = R"({"model":"emb","input":"hi"})"});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->head.status, 502) << r->body;
  const Json error = Json::parse(r->body)["error"];
  EXPECT_EQ(error["code"], "upstream_auth_failed");
  EXPECT_NE(error["message"].get<std::string>().find("Incorrect API key"), std::string::npos);
  EXPECT_EQ(upstream.requests().at(0).Header("authorization"), "Bearer sk-secret-value-42");
  EXPECT_EQ(r->body.find("sk-secret-value-42"), std::string::npos);
  EXPECT_EQ(serve.log().find("sk-secret-value-42"), std::string::npos);
}

}  // namespace
}  // namespace modelrt
