// The prompt cache seen from the API: requests that share a long system prompt report the
// reused tokens in each API's usage shape (OpenAI's prompt_tokens_details.cached_tokens,
// Anthropic's cache_read_input_tokens), greedy answers do not change, /metrics counts the hit
// rate per alias, and prompt_cache_mb: 0 turns it off.
#include <gtest/gtest.h>

#include <regex>

#include "server/http_test_client.h"
#include "server/test_server.h"

namespace modelrt::testing {
namespace {

const char kSystem[] =
    "You tell short stories for children. Every story has a little girl named Lily, her dog "
    "Max and a big red ball. The stories are happy, they happen in a park by the sea, and they "
    "always end with Lily and Max going home for dinner with her mom and dad.";

Json Chat(const std::string& user) {
  return {{"model", "chat"},
          {"messages", {{{"role", "system"}, {"content", kSystem}}, {{"role", "user"}, {"content", user}}}},
          {"max_tokens", 8},
          {"temperature", 0}};
}

int64_t Cached(const HttpResult& r) {
  return Json::parse(r.body)["usage"]["prompt_tokens_details"]["cached_tokens"].get<int64_t>();
}

// The value of a series in Prometheus text, or -1.
double Series(const std::string& metrics, const std::string& name_and_labels) {
  std::smatch m;
  const std::regex pattern("(^|\n)" + std::regex_replace(name_and_labels, std::regex(R"([{}"])"), R"(\$&)") +
                           " ([0-9.eE+-]+)");
  return std::regex_search(metrics, m, pattern) ? std::stod(m[2]) : -1;
}

TEST(PromptCacheApiTest, ASharedSystemPromptIsReusedAndCounted) {
  TestServer server(TestConfig());
  HttpResult first = PostJson(server.port(), "/v1/chat/completions", Chat("A story about a ball."));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(Cached(first), 0);
  const int64_t prompt = Json::parse(first.body)["usage"]["prompt_tokens"];
  ASSERT_GT(prompt, 60);

  HttpResult other = PostJson(server.port(), "/v1/chat/completions", Chat("A story about the sea."));
  ASSERT_EQ(other.status, 200) << other.body;
  EXPECT_GT(Cached(other), 50) << other.body;  // the system prompt, at least
  EXPECT_LT(Cached(other), Json::parse(other.body)["usage"]["prompt_tokens"].get<int64_t>());

  // The first request again: all but the last few tokens come from the cache, same answer.
  HttpResult again = PostJson(server.port(), "/v1/chat/completions", Chat("A story about a ball."));
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_GE(Cached(again), prompt - 8);
  EXPECT_EQ(Json::parse(again.body)["choices"][0]["message"]["content"],
            Json::parse(first.body)["choices"][0]["message"]["content"]);

  // Anthropic's usage: input_tokens leaves the cache reads out.
  Json message = {{"model", "chat"},
                  {"system", kSystem},
                  {"messages", {{{"role", "user"}, {"content", "A story about a ball."}}}},
                  {"max_tokens", 8},
                  {"temperature", 0}};
  HttpResult anthropic = PostJson(server.port(), "/v1/messages", message);
  ASSERT_EQ(anthropic.status, 200) << anthropic.body;
  const Json usage = Json::parse(anthropic.body)["usage"];
  EXPECT_GT(usage["cache_read_input_tokens"].get<int64_t>(), 50) << anthropic.body;
  HttpResult count = PostJson(server.port(), "/v1/messages/count_tokens", message);
  ASSERT_EQ(count.status, 200) << count.body;
  EXPECT_EQ(usage["input_tokens"].get<int64_t>() + usage["cache_read_input_tokens"].get<int64_t>(),
            Json::parse(count.body)["input_tokens"].get<int64_t>());

  const std::string metrics = HttpCall(server.port(), "GET", "/metrics").body;
  const double prompt_total = Series(metrics, R"(modelrt_prompt_tokens_total{alias="chat"})");
  const double cached_total = Series(metrics, R"(modelrt_prompt_cached_tokens_total{alias="chat"})");
  const double ratio = Series(metrics, R"(modelrt_prompt_cache_hit_ratio{alias="chat"})");
  EXPECT_GT(prompt_total, 4.0 * 60) << metrics;
  EXPECT_EQ(cached_total, static_cast<double>(Cached(other) + Cached(again) +
                                              usage["cache_read_input_tokens"].get<int64_t>()))
      << metrics;
  EXPECT_NEAR(ratio, cached_total / prompt_total, 1e-9) << metrics;
}

TEST(PromptCacheApiTest, ZeroMegabytesTurnsItOff) {
  Config config = TestConfig();
  for (ModelSpec& spec : config.models) {
    if (spec.alias == "chat") spec.options = MakeOptions({{"ctx", 256}, {"parallel", 4}, {"prompt_cache_mb", 0}});
  }
  TestServer server(config);
  for (int i = 0; i < 2; ++i) {
    HttpResult r = PostJson(server.port(), "/v1/chat/completions", Chat("A story about a ball."));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Cached(r), 0);
  }
}

}  // namespace
}  // namespace modelrt::testing
