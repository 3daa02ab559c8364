// StopMatcher and CompleteUtf8Prefix: the text pipeline between sampled tokens and the pieces
// a caller sees.
#include "providers/llama/stop_matcher.h"

#include <gtest/gtest.h>

#include "providers/llama/utf8.h"

namespace modelrt::llama {
namespace {

TEST(StopMatcherTest, NoStopsPassesTextThrough) {
  StopMatcher m({});
  EXPECT_EQ(m.Push("Once upon"), "Once upon");
  EXPECT_EQ(m.Push(" a time"), " a time");
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.Flush(), "");
}

TEST(StopMatcherTest, StopInsideOnePieceCutsBeforeIt) {
  StopMatcher m({"END"});
  EXPECT_EQ(m.Push("hello END world"), "hello ");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.matched(), "END");
  EXPECT_EQ(m.Push("more"), "");
  EXPECT_EQ(m.Flush(), "");
}

TEST(StopMatcherTest, StopSplitAcrossPieces) {
  StopMatcher m({"\n\nUser:"});
  EXPECT_EQ(m.Push("Hi there"), "Hi there");
  EXPECT_EQ(m.Push("!\n"), "!");   // "\n" may start the stop string: held back
  EXPECT_EQ(m.Push("\nUs"), "");   // still a prefix
  EXPECT_EQ(m.Push("er: next"), "");
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcherTest, PartialPrefixIsReleasedWhenItDoesNotMatch) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(m.Push("ab ST"), "ab ");
  EXPECT_EQ(m.Push("O"), "");
  EXPECT_EQ(m.Push("RM"), "STORM");
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcherTest, FlushReleasesHeldPrefixAtTheEnd) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(m.Push("the end ST"), "the end ");
  EXPECT_EQ(m.Flush(), "ST");
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcherTest, EarliestOfSeveralStopsWins) {
  StopMatcher m({"world", "lo w", ""});
  EXPECT_EQ(m.Push("hello world"), "hel");
  EXPECT_EQ(m.matched(), "lo w");
}

TEST(StopMatcherTest, OverlappingPrefixKeepsLongestCandidate) {
  // "aab" ends with "a", "aa"; the stop "aaa" could still complete from "aa".
  StopMatcher m({"aaa"});
  EXPECT_EQ(m.Push("baa"), "b");
  EXPECT_EQ(m.Push("b"), "aab");
  EXPECT_EQ(m.Push("aa"), "");
  EXPECT_EQ(m.Push("a"), "");
  EXPECT_TRUE(m.stopped());
}

TEST(Utf8Test, CompleteTextIsWhole) {
  EXPECT_EQ(CompleteUtf8Prefix(""), 0u);
  EXPECT_EQ(CompleteUtf8Prefix("abc"), 3u);
  EXPECT_EQ(CompleteUtf8Prefix("caf\xC3\xA9"), 5u);            // é
  EXPECT_EQ(CompleteUtf8Prefix("\xE2\x82\xAC"), 3u);           // €
  EXPECT_EQ(CompleteUtf8Prefix("x\xF0\x9F\x98\x80"), 5u);      // 😀
}

TEST(Utf8Test, IncompleteTailIsHeldBack) {
  EXPECT_EQ(CompleteUtf8Prefix("caf\xC3"), 3u);
  EXPECT_EQ(CompleteUtf8Prefix("a\xE2\x82"), 1u);
  EXPECT_EQ(CompleteUtf8Prefix("a\xE2"), 1u);
  EXPECT_EQ(CompleteUtf8Prefix("a\xF0\x9F\x98"), 1u);
  EXPECT_EQ(CompleteUtf8Prefix("\xF0"), 0u);
}

TEST(Utf8Test, StrayContinuationBytesPassThrough) {
  // Invalid input is not ours to judge; it must not be held back forever.
  EXPECT_EQ(CompleteUtf8Prefix("a\x80\x80\x80\x80"), 5u);
}

}  // namespace
}  // namespace modelrt::llama
