// Table layout and the small human formatters (sizes, ages, durations, timestamps).
#include "cli/table.h"

#include <gtest/gtest.h>

#include "cli/human_format.h"

namespace modelrt::cli {
namespace {

TEST(TableTest, PadsColumnsToTheWidestCellWithTwoSpacesAndNoTrailingBlanks) {
  Table t({"ALIAS", "STATE", "GEN"});
  t.AddRow({"chat", "loaded", "3"});
  t.AddRow({"embedding-model", "unloaded", "12"});
  EXPECT_EQ(t.Render(),
            "ALIAS            STATE     GEN\n"
            "chat             loaded    3\n"
            "embedding-model  unloaded  12\n");
}

TEST(TableTest, RightAlignedColumnsLineUpOnTheRight) {
  Table t({"ALIAS", "GEN", "MEMORY"});
  t.AlignRight(1);
  t.AlignRight(2);
  t.AddRow({"a", "3", "1.5 MiB"});
  t.AddRow({"bb", "120", "-"});
  EXPECT_EQ(t.Render(),
            "ALIAS  GEN   MEMORY\n"
            "a        3  1.5 MiB\n"
            "bb     120        -\n");
}

TEST(TableTest, ShortRowsArePaddedAndLongRowsCut) {
  Table t({"A", "B"});
  t.AddRow({"x"});
  t.AddRow({"1", "2", "dropped"});
  EXPECT_EQ(t.Render(), "A  B\nx\n1  2\n");
  EXPECT_EQ(t.rows(), 2u);
}

TEST(TableTest, NewlinesAndTabsInCellsKeepARowOnOneLine) {
  Table t({"ALIAS", "ERROR"});
  t.AddRow({"chat", "line one\nline\ttwo"});
  EXPECT_EQ(t.Render(), "ALIAS  ERROR\nchat   line one line two\n");
}

TEST(TableTest, WidthCountsUtf8CodePointsNotBytes) {
  EXPECT_EQ(Table::DisplayWidth("abc"), 3u);
  EXPECT_EQ(Table::DisplayWidth("caf\xc3\xa9"), 4u);               // café
  EXPECT_EQ(Table::DisplayWidth("\xe6\x97\xa5\xe6\x9c\xac"), 2u);  // two CJK characters
  Table t({"ALIAS", "X"});
  t.AddRow({"caf\xc3\xa9", "1"});
  t.AddRow({"chat", "2"});
  EXPECT_EQ(t.Render(), "ALIAS  X\ncaf\xc3\xa9   1\nchat   2\n");
}

TEST(TableTest, HeaderOnlyWhenThereAreNoRows) {
  Table t({"ID", "TYPE"});
  EXPECT_EQ(t.Render(), "ID  TYPE\n");
}

TEST(HumanFormatTest, MiBHasOneDecimalBelowAHundredThenWholeNumbers) {
  EXPECT_EQ(FormatMiB(0), "0.0 MiB");
  EXPECT_EQ(FormatMiB(3 << 20), "3.0 MiB");
  EXPECT_EQ(FormatMiB((3 << 20) + (1 << 19)), "3.5 MiB");
  EXPECT_EQ(FormatMiB(400 * 1024), "0.4 MiB");
  EXPECT_EQ(FormatMiB(int64_t{2048} << 20), "2048 MiB");
  EXPECT_EQ(FormatMiB(-5), "0.0 MiB");
}

TEST(HumanFormatTest, AgesUseTheLargestWholeUnit) {
  EXPECT_EQ(FormatAgo(0), "0s ago");
  EXPECT_EQ(FormatAgo(12), "12s ago");
  EXPECT_EQ(FormatAgo(59), "59s ago");
  EXPECT_EQ(FormatAgo(60), "1m ago");
  EXPECT_EQ(FormatAgo(3599), "59m ago");
  EXPECT_EQ(FormatAgo(3600 * 3 + 5), "3h ago");
  EXPECT_EQ(FormatAgo(86400 * 2 + 7), "2d ago");
  EXPECT_EQ(FormatAgo(-30), "0s ago");  // the server's clock is ahead
}

TEST(HumanFormatTest, Durations) {
  EXPECT_EQ(FormatDurationMs(0), "0 ms");
  EXPECT_EQ(FormatDurationMs(340), "340 ms");
  EXPECT_EQ(FormatDurationMs(2140), "2.1 s");
  EXPECT_EQ(FormatDurationMs(185000), "3m 05s");
}

TEST(HumanFormatTest, ParsesRfc3339Timestamps) {
  EXPECT_EQ(ParseUtcTimestamp("2026-11-25T23:01:02Z").value(), 1795647662);
  EXPECT_EQ(ParseUtcTimestamp("2026-11-25T23:01:02.123456Z").value(), 1795647662);
  EXPECT_EQ(ParseUtcTimestamp("2026-11-26T01:01:02+02:00").value(), 1795647662);
  EXPECT_EQ(ParseUtcTimestamp("2026-11-25T20:31:02-02:30").value(), 1795647662);
  EXPECT_EQ(ParseUtcTimestamp("2000-02-29T12:00:00z").value(), 951825600);
}

TEST(HumanFormatTest, RejectsWhatIsNotATimestamp) {
  for (const char* bad :
       {"", "yesterday", "2026-11-25", "2026-11-25T23:01:02", "2026-13-01T00:00:00Z",
        "2026-11-25T24:00:00Z", "2026-11-25T23:01:02Zx", "2026-11-25T23:01:02.Z",
        "2026-11-25T23:01:02+0200", "26-11-25T23:01:02Z"}) {
    Result<int64_t> r = ParseUtcTimestamp(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace modelrt::cli
