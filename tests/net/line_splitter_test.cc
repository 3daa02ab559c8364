// LineSplitter over Ollama-style NDJSON, split at every byte.
#include "net/line_splitter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace modelrt::net {
namespace {

TEST(LineSplitterTest, SameLinesAtEverySplit) {
  const std::string stream =
      "{\"message\":{\"content\":\"a\"},\"done\":false}\n\r\n"
      "{\"message\":{\"content\":\"b\"},\"done\":false}\r\n"
      "\n"
      "{\"done\":true,\"eval_count\":2}";
  const std::vector<std::string> want = {R"({"message":{"content":"a"},"done":false})",
                                         R"({"message":{"content":"b"},"done":false})",
                                         R"({"done":true,"eval_count":2})"};
  for (size_t piece = 1; piece <= stream.size(); ++piece) {
    LineSplitter lines;
    std::vector<std::string> seen;
    for (size_t i = 0; i < stream.size(); i += piece) {
      ASSERT_TRUE(
          lines.Feed(stream.substr(i, piece), [&](std::string_view l) { seen.emplace_back(l); })
              .ok());
    }
    if (auto last = lines.Finish()) seen.push_back(*last);
    EXPECT_EQ(seen, want) << "pieces of " << piece;
  }
}

TEST(LineSplitterTest, BlankTailIsNoLineAndLongLinesFail) {
  LineSplitter lines(16);
  auto ignore = [](std::string_view) {};
  ASSERT_TRUE(lines.Feed("{}\n  ", ignore).ok());
  EXPECT_FALSE(lines.Finish().has_value());
  EXPECT_EQ(lines.Feed(std::string(40, 'x'), ignore).code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace modelrt::net
