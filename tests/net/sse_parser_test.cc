// SseParser against the WHATWG event-stream rules and the streams upstreams really send,
// fed whole and split at every byte.
#include "net/sse_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace modelrt::net {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Seen {
  std::string event, data, id;
  bool operator==(const Seen&) const = default;
};

std::vector<Seen> ParseInPieces(std::string_view stream, size_t piece, bool* truncated = nullptr) {
  SseParser parser;
  std::vector<Seen> seen;
  for (size_t i = 0; i < stream.size(); i += piece) {
    Status s = parser.Feed(stream.substr(i, piece), [&](const SseEvent& e) {
      seen.push_back({e.event, e.data, e.id});
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  const bool cut = parser.Finish();
  if (truncated) *truncated = cut;
  return seen;
}

// The same events whatever the chunking: a chunk may end anywhere, even between CR and LF.
void ExpectSameAtEverySplit(std::string_view stream, const std::vector<Seen>& want) {
  for (size_t piece = 1; piece <= stream.size(); ++piece) {
    EXPECT_EQ(ParseInPieces(stream, piece), want) << "pieces of " << piece << " bytes";
  }
}

TEST(SseParserTest, OpenAiChatStream) {
  const std::string stream =
      "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
      ": keep-alive\n\n"
      "data: {\"choices\":[],\"usage\":{\"total_tokens\":3}}\n\n"
      "data: [DONE]\n\n";
  ExpectSameAtEverySplit(stream, {{"message", R"({"choices":[{"delta":{"content":"Hi"}}]})", ""},
                                  {"message", R"({"choices":[],"usage":{"total_tokens":3}})", ""},
                                  {"message", "[DONE]", ""}});
}

TEST(SseParserTest, AnthropicNamedEventsWithCrlf) {
  const std::string stream =
      "event: message_start\r\ndata: {\"type\":\"message_start\"}\r\n\r\n"
      "event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n"
      "event: content_block_delta\r\ndata: {\"delta\":{\"text\":\"a\"}}\r\n\r\n";
  ExpectSameAtEverySplit(stream, {{"message_start", R"({"type":"message_start"})", ""},
                                  {"ping", R"({"type": "ping"})", ""},
                                  {"content_block_delta", R"({"delta":{"text":"a"}})", ""}});
}

TEST(SseParserTest, SpecRules) {
  // From the spec's examples: multi-line data, a bare CR as line end, one space stripped after
  // the colon and no more, a field without a colon, an id that persists, unknown fields ignored.
  const std::string stream =
      "data: first\ndata:second\r\r"
      "data:  two spaces\nfoo: ignored\nid: 7\n\n"
      "event: tick\ndata\n\n"
      "event: no-data\n\n"
      "data: after\n\n";
  ExpectSameAtEverySplit(stream, {{"message", "first\nsecond", ""},
                                  {"message", " two spaces", "7"},
                                  {"tick", "", "7"},
                                  {"message", "after", "7"}});
}

TEST(SseParserTest, ByteOrderMarkIsSkippedOnlyAtTheStart) {
  const std::string stream =
      "\xEF\xBB\xBF"
      "data: a\n\n";
  ExpectSameAtEverySplit(stream, {{"message", "a", ""}});
  const std::string later =
      "data: a\n\n\xEF\xBB\xBF"
      "data: b\n\n";
  EXPECT_EQ(ParseInPieces(later, 1).size(), 1u) << "a later BOM is part of a field name";
}

TEST(SseParserTest, RetryFieldAndIdWithNulIgnored) {
  SseParser parser;
  std::vector<SseEvent> seen;
  std::string stream = "retry: 1500\nid: a";
  stream += '\0';
  stream += "b\ndata: x\n\nretry: soon\ndata: y\n\n";
  ASSERT_TRUE(parser.Feed(stream, [&](const SseEvent& e) { seen.push_back(e); }).ok());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].retry_ms, 1500);
  EXPECT_EQ(seen[0].id, "") << "an id with NUL is ignored";
  EXPECT_FALSE(seen[1].retry_ms.has_value());
}

TEST(SseParserTest, FinishReportsAStreamCutInsideAnEvent) {
  bool truncated = false;
  EXPECT_THAT(ParseInPieces("data: a\n\ndata: {\"partial\"", 5, &truncated),
              ElementsAre(Seen{"message", "a", ""}));
  EXPECT_TRUE(truncated);
  ParseInPieces("data: a\n\n", 3, &truncated);
  EXPECT_FALSE(truncated);
  ParseInPieces("data: a\n", 3, &truncated);
  EXPECT_TRUE(truncated) << "no blank line: the event was never dispatched";
}

TEST(SseParserTest, AnEventPastTheLimitFailsAndStaysFailed) {
  SseParser parser(64);
  auto ignore = [](const SseEvent&) {};
  ASSERT_TRUE(parser.Feed("data: short\n\n", ignore).ok());
  Status too_big = parser.Feed("data: " + std::string(100, 'x'), ignore);
  EXPECT_EQ(too_big.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(too_big.message(), HasSubstr("64 bytes"));
  EXPECT_FALSE(parser.Feed("\n\n", ignore).ok());
}

}  // namespace
}  // namespace modelrt::net
