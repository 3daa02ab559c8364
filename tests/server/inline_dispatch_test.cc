// Requests that answer later run their handler on the I/O thread when the body is small
// (server.inline_body_bytes) and on the dispatch threads otherwise: both paths give the same
// answers, errors included, and the setting is honoured at both ends.
#include <gtest/gtest.h>

#include "core/json.h"
#include "http_test_client.h"
#include "test_server.h"

namespace modelrt::testing {
namespace {

Json Embedding(int port, const std::string& text) {
  HttpResult r = PostJson(port, "/v1/embeddings", {{"model", "embed"}, {"input", text}});
  EXPECT_EQ(r.status, 200) << r.body;
  return r.json()["data"][0]["embedding"];
}

TEST(InlineDispatch, SmallAndLargeBodiesGiveTheSameAnswersOnBothPaths) {
  // A body past 16 KiB (the default) is dispatched; the short one runs inline.
  const std::string long_text(20000, ' ');
  const std::string padded = "hello world" + long_text;  // the padding is whitespace: same tokens
  Config never = TestConfig();
  never.server.inline_body_bytes = 0;
  TestServer inline_server;  // default: 16 KiB
  TestServer dispatch_server(never);
  const Json a = Embedding(inline_server.port(), "hello world");
  const Json b = Embedding(dispatch_server.port(), "hello world");
  const Json c = Embedding(inline_server.port(), padded);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
  // Errors answered before the engine has the request take the same paths.
  for (int port : {inline_server.port(), dispatch_server.port()}) {
    HttpResult bad = PostJson(port, "/v1/embeddings", {{"model", "nope"}, {"input", "x"}});
    EXPECT_EQ(bad.status, 404) << bad.body;
    HttpResult chat = PostJson(port, "/v1/chat/completions",
                               {{"model", "chat"}, {"max_tokens", 4}, {"temperature", 0},
                                {"messages", {{{"role", "user"}, {"content", "hi"}}}}});
    EXPECT_EQ(chat.status, 200) << chat.body;
  }
}

}  // namespace
}  // namespace modelrt::testing
