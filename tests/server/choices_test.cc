// n > 1 on the real server: n choices of one request, each its own generation (seed + i when
// seeded), sharing the prompt's KV on the engine; whole and streamed (choices interleaved by
// index) agree; n past server.max_choices is a 400 naming the setting.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <regex>

#include "server/http_test_client.h"
#include "server/test_server.h"

namespace modelrt::testing {
namespace {

using ::testing::HasSubstr;

const char kSystem[] =
    "You tell short stories for children. Every story has a little girl named Lily, her dog "
    "Max and a big red ball. The stories are happy, they happen in a park by the sea, and they "
    "always end with Lily and Max going home for dinner with her mom and dad.";

Json Chat(Json extra = Json::object()) {
  Json body = {{"model", "chat"},
               {"messages", {{{"role", "system"}, {"content", kSystem}},
                             {{"role", "user"}, {"content", "A story about a ball."}}}},
               {"max_tokens", 10},
               {"temperature", 1.0},
               {"seed", 42}};
  body.update(extra);
  return body;
}

std::vector<std::string> Texts(const Json& response) {
  std::vector<std::string> texts;
  for (const Json& choice : response["choices"]) texts.push_back(choice["message"]["content"]);
  return texts;
}

double CachedTotal(int port) {
  const std::string metrics = HttpCall(port, "GET", "/metrics").body;
  std::smatch m;
  static const std::regex kSeries(R"(modelrt_prompt_cached_tokens_total\{alias="chat"\} ([0-9.eE+-]+))");
  return std::regex_search(metrics, m, kSeries) ? std::stod(m[1]) : 0;
}

TEST(ChoicesTest, NChoicesAreSeededApartAndShareThePrompt) {
  TestServer server(TestConfig());
  HttpResult r = PostJson(server.port(), "/v1/chat/completions", Chat({{"n", 3}}));
  ASSERT_EQ(r.status, 200) << r.body;
  Json body = Json::parse(r.body);
  ASSERT_EQ(body["choices"].size(), 3u) << r.body;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(body["choices"][i]["index"], i);
    EXPECT_FALSE(body["choices"][i]["message"]["content"].get<std::string>().empty());
  }
  // Two of the three found the prompt in the first one's KV (all but its last 4 tokens).
  const int64_t prompt = body["usage"]["prompt_tokens"];
  EXPECT_GE(CachedTotal(server.port()), 2.0 * static_cast<double>(prompt - 4));
  // Choice i is the request with seed 42 + i: reproducible, and not copies of each other.
  const std::vector<std::string> texts = Texts(body);
  EXPECT_TRUE(texts[0] != texts[1] || texts[1] != texts[2]) << r.body;
  for (int i = 0; i < 3; ++i) {
    HttpResult one = PostJson(server.port(), "/v1/chat/completions", Chat({{"seed", 42 + i}}));
    ASSERT_EQ(one.status, 200) << one.body;
    EXPECT_EQ(Texts(Json::parse(one.body))[0], texts[i]) << "choice " << i;
  }
  // The prompt is counted once, the completions together.
  int64_t completion = 0;
  for (int i = 0; i < 3; ++i) {
    HttpResult one = PostJson(server.port(), "/v1/chat/completions", Chat({{"seed", 42 + i}}));
    completion += Json::parse(one.body)["usage"]["completion_tokens"].get<int64_t>();
  }
  EXPECT_EQ(body["usage"]["completion_tokens"], completion);
  EXPECT_EQ(body["usage"]["total_tokens"], prompt + completion);
}

TEST(ChoicesTest, StreamedChoicesReassembleToTheWholeOnes) {
  TestServer server(TestConfig());
  Json whole = Json::parse(PostJson(server.port(), "/v1/chat/completions", Chat({{"n", 2}})).body);
  Json request = Chat({{"n", 2}, {"stream", true}, {"stream_options", {{"include_usage", true}}}});
  HttpResult stream = PostJson(server.port(), "/v1/chat/completions", request);
  ASSERT_EQ(stream.status, 200) << stream.body;
  std::map<int, std::string> text;
  std::map<int, int> roles, finishes;
  Json usage;
  int done = 0;
  for (const std::string& data : SseData(stream.body)) {
    if (data == "[DONE]") {
      ++done;
      continue;
    }
    Json chunk = Json::parse(data);
    if (!chunk["usage"].is_null()) usage = chunk["usage"];
    for (const Json& choice : chunk["choices"]) {
      const int index = choice["index"];
      if (choice["delta"].contains("role")) ++roles[index];
      if (choice["delta"].contains("content")) text[index] += choice["delta"]["content"].get<std::string>();
      if (!choice["finish_reason"].is_null()) ++finishes[index];
    }
  }
  EXPECT_EQ(done, 1);
  EXPECT_EQ(roles, (std::map<int, int>{{0, 1}, {1, 1}}));
  EXPECT_EQ(finishes, (std::map<int, int>{{0, 1}, {1, 1}}));
  const std::vector<std::string> texts = Texts(whole);
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_EQ(text[0], texts[0]);
  EXPECT_EQ(text[1], texts[1]);
  EXPECT_EQ(usage["completion_tokens"], whole["usage"]["completion_tokens"]);
}

TEST(ChoicesTest, TextCompletionsTakeNToo) {
  TestServer server(TestConfig());
  Json body = {{"model", "chat"}, {"prompt", "Once upon a time"}, {"max_tokens", 6},
               {"temperature", 0}, {"n", 2}};
  HttpResult r = PostJson(server.port(), "/v1/completions", body);
  ASSERT_EQ(r.status, 200) << r.body;
  Json answer = Json::parse(r.body);
  ASSERT_EQ(answer["choices"].size(), 2u);
  EXPECT_EQ(answer["choices"][1]["index"], 1);
  // Greedy: both choices are the same text.
  EXPECT_EQ(answer["choices"][0]["text"], answer["choices"][1]["text"]);
}

TEST(ChoicesTest, NPastTheLimitIsA400NamingTheSetting) {
  Config config = TestConfig();
  config.server.max_choices = 4;
  TestServer server(config);
  HttpResult over = PostJson(server.port(), "/v1/chat/completions", Chat({{"n", 5}}));
  EXPECT_EQ(over.status, 400) << over.body;
  EXPECT_THAT(over.body, HasSubstr("server.max_choices"));
  HttpResult zero = PostJson(server.port(), "/v1/chat/completions", Chat({{"n", 0}}));
  EXPECT_EQ(zero.status, 400) << zero.body;
  EXPECT_THAT(zero.body, HasSubstr("'n'"));
  EXPECT_EQ(PostJson(server.port(), "/v1/chat/completions", Chat({{"n", 4}})).status, 200);
}

}  // namespace
}  // namespace modelrt::testing
