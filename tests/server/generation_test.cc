// POST /v1/chat/completions and /v1/completions over real HTTP on stories260K: whole and SSE
// responses (the stream must carry exactly the whole response's text, in OpenAI's event
// order), usage, finish reasons, stop strings, seeds, profiles and the request limits.
#include <gtest/gtest.h>

#include "core/json.h"
#include "http_test_client.h"
#include "test_server.h"

namespace modelrt::testing {
namespace {

class GenerationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new TestServer(); }
  static void TearDownTestSuite() { delete server_; }
  static int port() { return server_->port(); }
  static TestServer* server_;
};
TestServer* GenerationTest::server_ = nullptr;

Json ChatRequest(int max_tokens = 16) {
  return {{"model", "chat"},
          {"messages", {{{"role", "user"}, {"content", "Tell me about a little dog."}}}},
          {"temperature", 0},
          {"max_tokens", max_tokens}};
}

struct Streamed {
  HttpResult http;
  std::vector<Json> events;  // parsed data payloads, without [DONE]
  bool done = false;         // ended with data: [DONE]
  std::string text;          // concatenated content
  std::string finish_reason;
  Json usage;
};

Streamed Stream(int port, const std::string& path, Json request) {
  Streamed s;
  request["stream"] = true;
  s.http = PostJson(port, path, request);
  std::vector<std::string> data = SseData(s.http.body);
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i] == "[DONE]") {
      s.done = i + 1 == data.size();
      continue;
    }
    Json event = Json::parse(data[i], nullptr, false);
    s.events.push_back(event);
    if (!event.is_object() || !event.contains("choices")) continue;
    for (const Json& choice : event["choices"]) {
      if (choice.contains("delta") && choice["delta"].contains("content")) {
        s.text += choice["delta"]["content"].get<std::string>();
      }
      if (choice.contains("text")) s.text += choice["text"].get<std::string>();
      if (!choice["finish_reason"].is_null()) s.finish_reason = choice["finish_reason"];
    }
    if (event.contains("usage") && !event["usage"].is_null()) s.usage = event["usage"];
  }
  return s;
}

TEST_F(GenerationTest, ChatWholeResponse) {
  HttpResult r = PostJson(port(), "/v1/chat/completions", ChatRequest());
  ASSERT_EQ(r.status, 200) << r.body;
  Json body = r.json();
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["model"], "chat");
  EXPECT_EQ(body["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  ASSERT_EQ(body["choices"].size(), 1u);
  EXPECT_EQ(body["choices"][0]["message"]["role"], "assistant");
  EXPECT_FALSE(body["choices"][0]["message"]["content"].get<std::string>().empty());
  std::string finish = body["choices"][0]["finish_reason"];
  EXPECT_TRUE(finish == "stop" || finish == "length") << finish;
  Json usage = body["usage"];
  EXPECT_GT(usage["prompt_tokens"].get<int>(), 5);
  EXPECT_GT(usage["completion_tokens"].get<int>(), 0);
  EXPECT_LE(usage["completion_tokens"].get<int>(), 16);
  if (finish == "length") {
    EXPECT_EQ(usage["completion_tokens"], 16);
  }
  EXPECT_EQ(usage["total_tokens"].get<int>(),
            usage["prompt_tokens"].get<int>() + usage["completion_tokens"].get<int>());
}

TEST_F(GenerationTest, ChatStreamMatchesWholeResponse) {
  Json whole = PostJson(port(), "/v1/chat/completions", ChatRequest()).json();
  Json request = ChatRequest();
  request["stream_options"] = {{"include_usage", true}};
  Streamed s = Stream(port(), "/v1/chat/completions", request);
  ASSERT_EQ(s.http.status, 200) << s.http.body;
  EXPECT_EQ(s.http.Header("Content-Type"), "text/event-stream");
  EXPECT_EQ(s.http.Header("Transfer-Encoding"), "chunked");
  EXPECT_FALSE(s.http.Header("X-Request-Id").empty());
  EXPECT_TRUE(s.done) << s.http.body;
  ASSERT_GE(s.events.size(), 4u) << s.http.body;  // role, content..., finish, usage
  EXPECT_EQ(s.events.front()["choices"][0]["delta"]["role"], "assistant");
  for (const Json& e : s.events) {
    EXPECT_EQ(e["object"], "chat.completion.chunk");
    EXPECT_EQ(e["id"], s.events.front()["id"]);
    EXPECT_TRUE(e.contains("usage"));  // null until the last chunk, as OpenAI sends it
  }
  EXPECT_TRUE(s.events.back()["choices"].empty());
  EXPECT_EQ(s.text, whole["choices"][0]["message"]["content"]);
  EXPECT_EQ(s.finish_reason, whole["choices"][0]["finish_reason"]);
  // The same counts; the second request may find the first one's prompt in the prompt cache.
  for (const char* field : {"prompt_tokens", "completion_tokens", "total_tokens"})
    EXPECT_EQ(s.usage[field], whole["usage"][field]) << field;

  // Without include_usage: no usage chunk, no usage field.
  Streamed plain = Stream(port(), "/v1/chat/completions", ChatRequest());
  ASSERT_EQ(plain.http.status, 200);
  EXPECT_TRUE(plain.done);
  EXPECT_TRUE(plain.usage.is_null());
  EXPECT_FALSE(plain.events.back().contains("usage"));
  EXPECT_EQ(plain.text, s.text);
}

TEST_F(GenerationTest, CompletionsWholeAndStreamed) {
  Json request = {{"model", "chat"}, {"prompt", "Once upon a time"}, {"temperature", 0},
                  {"max_tokens", 12}};
  HttpResult r = PostJson(port(), "/v1/completions", request);
  ASSERT_EQ(r.status, 200) << r.body;
  Json body = r.json();
  EXPECT_EQ(body["object"], "text_completion");
  std::string text = body["choices"][0]["text"];
  EXPECT_FALSE(text.empty());
  request["stream_options"] = {{"include_usage", true}};
  Streamed s = Stream(port(), "/v1/completions", request);
  ASSERT_EQ(s.http.status, 200) << s.http.body;
  EXPECT_TRUE(s.done);
  EXPECT_EQ(s.events.front()["object"], "text_completion");
  EXPECT_EQ(s.text, text);
  EXPECT_EQ(s.finish_reason, body["choices"][0]["finish_reason"]);
  EXPECT_EQ(s.usage, body["usage"]);
}

TEST_F(GenerationTest, StopStringsMaxTokensAndSeeds) {
  Json request = {{"model", "chat"}, {"prompt", "Once upon a time"}, {"temperature", 0},
                  {"max_tokens", 24}};
  std::string text = PostJson(port(), "/v1/completions", request).json()["choices"][0]["text"];
  ASSERT_GT(text.size(), 8u) << text;
  // Stop at a piece of the greedy continuation: the text ends right before it.
  std::string stop = text.substr(text.size() / 2, 3);
  size_t at = text.find(stop);
  request["stop"] = {stop};
  Json stopped = PostJson(port(), "/v1/completions", request).json();
  EXPECT_EQ(stopped["choices"][0]["text"], text.substr(0, at)) << "stop='" << stop << "'";
  EXPECT_EQ(stopped["choices"][0]["finish_reason"], "stop");

  request.erase("stop");
  request["max_tokens"] = 2;
  Json two = PostJson(port(), "/v1/completions", request).json();
  EXPECT_EQ(two["choices"][0]["finish_reason"], "length") << two.dump();
  EXPECT_EQ(two["usage"]["completion_tokens"], 2);

  // max_completion_tokens (the newer chat name) wins over max_tokens.
  Json chat = ChatRequest(30);
  chat["max_completion_tokens"] = 3;
  chat["ignore_eos"] = true;
  Json three = PostJson(port(), "/v1/chat/completions", chat).json();
  EXPECT_EQ(three["usage"]["completion_tokens"], 3) << three.dump();

  // The same seed samples the same text.
  Json sampled = {{"model", "chat"}, {"prompt", "Once upon a time"}, {"temperature", 1.0},
                  {"seed", 1234}, {"max_tokens", 16}};
  std::string a = PostJson(port(), "/v1/completions", sampled).json()["choices"][0]["text"];
  std::string b = PostJson(port(), "/v1/completions", sampled).json()["choices"][0]["text"];
  EXPECT_EQ(a, b);
}

TEST_F(GenerationTest, ProfilesAddSystemPromptAndDefaults) {
  Json alias = ChatRequest(30);
  Json profile = alias;
  profile["model"] = "storyteller";
  profile.erase("max_tokens");  // the profile's default (8) applies
  HttpResult r = PostJson(port(), "/v1/chat/completions", profile);
  ASSERT_EQ(r.status, 200) << r.body;
  Json with_profile = r.json();
  Json plain = PostJson(port(), "/v1/chat/completions", alias).json();
  EXPECT_EQ(with_profile["model"], "storyteller");
  EXPECT_LE(with_profile["usage"]["completion_tokens"].get<int>(), 8);
  // The profile's system prompt is part of the prompt.
  EXPECT_GT(with_profile["usage"]["prompt_tokens"].get<int>(),
            plain["usage"]["prompt_tokens"].get<int>() + 5);
  // A request's own value beats the profile's.
  profile["max_tokens"] = 2;
  profile["ignore_eos"] = true;
  EXPECT_EQ(PostJson(port(), "/v1/chat/completions", profile).json()["usage"]["completion_tokens"], 2);
}

TEST_F(GenerationTest, BadRequestsAre4xx) {
  auto user = Json::array({{{"role", "user"}, {"content", "hi"}}});
  std::string long_prompt;
  for (int i = 0; i < 300; ++i) long_prompt += "the cat sat. ";
  struct Case {
    std::string path;
    Json body;
    int status;
    std::string needle;
  };
  std::vector<Case> cases = {
      {"/v1/chat/completions", {{"model", "chat"}}, 400, "'messages'"},
      {"/v1/chat/completions", {{"model", "chat"}, {"messages", Json::array()}}, 400, "empty"},
      {"/v1/chat/completions", {{"model", "chat"}, {"messages", "hi"}}, 400, "array"},
      {"/v1/chat/completions",
       {{"model", "chat"}, {"messages", {{{"role", "wizard"}, {"content", "x"}}}}}, 400, "role"},
      {"/v1/chat/completions", {{"model", "chat"}, {"messages", {{{"role", "user"}}}}}, 400,
       "content"},
      {"/v1/chat/completions",
       {{"model", "chat"}, {"messages", {{{"role", "user"}, {"content", 5}}}}}, 400, "content"},
      {"/v1/chat/completions", {{"model", "chat"}, {"messages", user}, {"max_tokens", 65}}, 400,
       "server.max_tokens_limit"},
      {"/v1/chat/completions",
       {{"model", "chat"}, {"messages", user}, {"max_completion_tokens", 1000}}, 400,
       "max_completion_tokens"},
      {"/v1/chat/completions", {{"model", "chat"}, {"messages", user}, {"max_tokens", 0}}, 400,
       "max_tokens"},
      {"/v1/chat/completions", {{"model", "chat"}, {"messages", user}, {"temperature", 3}}, 400,
       "temperature"},
      {"/v1/chat/completions", {{"model", "chat"}, {"messages", user}, {"top_p", "x"}}, 400,
       "top_p"},
      {"/v1/chat/completions", {{"model", "chat"}, {"messages", user}, {"stream", "yes"}}, 400,
       "stream"},
      {"/v1/chat/completions", {{"model", "chat"}, {"messages", user}, {"n", 1000}}, 400, "'n'"},
      {"/v1/chat/completions",
       {{"model", "chat"}, {"messages", user}, {"tools", {{{"type", "function"}}}}}, 400, "tools"},
      {"/v1/chat/completions", {{"model", "chat"}, {"messages", user}, {"stop", 5}}, 400, "stop"},
      {"/v1/chat/completions", {{"model", "nope"}, {"messages", user}}, 404, "nope"},
      {"/v1/chat/completions", {{"model", "embed"}, {"messages", user}}, 400, "embed"},
      {"/v1/completions", {{"model", "chat"}, {"prompt", ""}}, 400, "'prompt'"},
      {"/v1/completions", {{"model", "chat"}}, 400, "'prompt'"},
      {"/v1/completions", {{"model", "chat"}, {"prompt", {"a", "b"}}}, 400, "prompt"},
      {"/v1/completions", {{"model", "chat"}, {"prompt", long_prompt}}, 400, "context"},
      {"/v1/completions", {{"model", "chat"}, {"prompt", long_prompt}, {"stream", true}}, 400,
       "context"},
      {"/v1/completions", {{"model", "chat"}, {"prompt", "x"}, {"echo", true}}, 400, "echo"},
  };
  for (const Case& c : cases) {
    HttpResult r = PostJson(port(), c.path, c.body);
    SCOPED_TRACE(c.path + " " + c.body.dump().substr(0, 200));
    EXPECT_EQ(r.status, c.status) << r.body;
    Json body = r.json();
    ASSERT_TRUE(body.contains("error")) << r.body;
    EXPECT_NE(body["error"]["message"].get<std::string>().find(c.needle), std::string::npos)
        << r.body;
  }
  EXPECT_EQ(PostJson(port(), "/v1/chat/completions", ChatRequest(2)).status, 200);
}

}  // namespace
}  // namespace modelrt::testing
