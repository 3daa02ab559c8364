// ParseUpstreamError over the error bodies each provider documents.
#include "net/upstream_error.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace modelrt::net {
namespace {

using std::chrono::milliseconds;

UpstreamError Parse(int status, std::string_view body,
                    std::map<std::string, std::string> headers = {}) {
  auto lookup = [&](std::string_view name) -> std::optional<std::string_view> {
    auto it = headers.find(std::string(name));
    if (it == headers.end()) return std::nullopt;
    return it->second;
  };
  return ParseUpstreamError(status, body, lookup, std::chrono::system_clock::from_time_t(0));
}

TEST(UpstreamErrorTest, OpenAiShapeWithRetryHeaders) {
  UpstreamError e = Parse(
      429,
      R"({"error":{"message":"Rate limit reached for gpt-4o-mini. Please try again in 300ms.",)"
      R"("type":"tokens","param":null,"code":"rate_limit_exceeded"}})",
      {{"retry-after-ms", "300"}, {"retry-after", "1"}});
  EXPECT_EQ(e.message, "Rate limit reached for gpt-4o-mini. Please try again in 300ms.");
  EXPECT_EQ(e.type, "tokens");
  EXPECT_TRUE(e.retryable);
  EXPECT_EQ(e.retry_after, milliseconds(300));
  EXPECT_FALSE(e.auth_failed);
}

TEST(UpstreamErrorTest, LlamaServerShape) {
  UpstreamError e = Parse(400, R"({"error":{"code":400,"message":"the request exceeds the )"
                               R"(available context size","type":"exceed_context_size_error"}})");
  EXPECT_EQ(e.type, "exceed_context_size_error");
  EXPECT_FALSE(e.retryable);
}

TEST(UpstreamErrorTest, AnthropicOverloaded) {
  UpstreamError e =
      Parse(529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  EXPECT_EQ(e.message, "Overloaded");
  EXPECT_EQ(e.type, "overloaded_error");
  EXPECT_TRUE(e.retryable);
  EXPECT_FALSE(e.retry_after.has_value());
}

TEST(UpstreamErrorTest, GeminiRetryInfoInTheBody) {
  UpstreamError e = Parse(429, R"({"error":{"code":429,
      "message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED",
      "details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[]},
                 {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"26.5s"}]}})");
  EXPECT_EQ(e.type, "RESOURCE_EXHAUSTED");
  EXPECT_EQ(e.retry_after, milliseconds(26500));
  UpstreamError header_wins = Parse(429, R"({"error":{"details":[{"@type":
      "type.googleapis.com/google.rpc.RetryInfo","retryDelay":"26s"}]}})",
                                    {{"retry-after", "3"}});
  EXPECT_EQ(header_wins.retry_after, milliseconds(3000));
}

TEST(UpstreamErrorTest, FlatShapesOfTheOtherProviders) {
  EXPECT_EQ(Parse(404, R"({"error":"model \"llama3\" not found, try pulling it first"})").message,
            "model \"llama3\" not found, try pulling it first");  // Ollama
  UpstreamError tei = Parse(413, R"({"error":"Input validation error: inputs must have less )"
                                 R"(than 512 tokens. Given: 600","error_type":"Validation"})");
  EXPECT_EQ(tei.type, "Validation");
  EXPECT_EQ(
      Parse(400, R"({"id":"1","message":"invalid request: texts must not be empty"})").message,
      "invalid request: texts must not be empty");  // Cohere
  EXPECT_EQ(Parse(400, R"({"detail":"Request to model 'voyage-3' failed."})").message,
            "Request to model 'voyage-3' failed.");  // Voyage
}

TEST(UpstreamErrorTest, AuthFailuresAreMarked) {
  EXPECT_TRUE(Parse(401, R"({"error":{"message":"Incorrect API key provided"}})").auth_failed);
  EXPECT_TRUE(Parse(403, "").auth_failed);
  EXPECT_FALSE(Parse(401, "").retryable);
}

TEST(UpstreamErrorTest, NonJsonBodiesStillSaySomething) {
  EXPECT_EQ(Parse(502, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>").message,
            "502 Bad Gateway");
  EXPECT_EQ(Parse(500, "\n  upstream exploded\nstack...").message, "upstream exploded");
  EXPECT_EQ(Parse(503, "").message, "HTTP 503");
  EXPECT_EQ(Parse(500, R"({"error":{"message":"trunc)").message, R"({"error":{"message":"trunc)");
  const std::string huge(5000, 'x');
  EXPECT_LE(Parse(500, huge).message.size(), 503u);
  // A long message is cut on a character boundary: "é" is two bytes.
  std::string accents = "a";  // then byte 500 falls inside a character
  for (int i = 0; i < 400; ++i) accents += "\xC3\xA9";
  const std::string cut = Parse(500, R"({"message":")" + accents + R"("})").message;
  EXPECT_EQ(cut.substr(cut.size() - 3), "...");
  EXPECT_EQ(cut.size(), 1 + 498 + 3u) << "cut before the character that byte 500 is part of";
  EXPECT_EQ(static_cast<unsigned char>(cut[cut.size() - 4]), 0xA9) << "no half character";
}

}  // namespace
}  // namespace modelrt::net
