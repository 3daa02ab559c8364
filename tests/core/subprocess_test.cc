// RunCommand with real child processes: output, exit codes, timeouts that kill the whole group,
// and output past the limit read and dropped.
#include "core/subprocess.h"

#include <gtest/gtest.h>

#include <chrono>

namespace modelrt {
namespace {

using namespace std::chrono_literals;

TEST(SubprocessTest, CollectsStdoutStderrAndTheExitCode) {
  auto ran = RunCommand({"/bin/sh", "-c", "echo out; echo err >&2; exit 4"}, 10s);
  ASSERT_TRUE(ran.ok()) << ran.error().ToString();
  EXPECT_EQ(ran->out, "out\n");
  EXPECT_EQ(ran->err, "err\n");
  EXPECT_EQ(ran->exit_code, 4);
  auto plain = RunCommand({"printf", "%s", "a b"}, 10s);  // found in PATH
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->out, "a b");
  EXPECT_EQ(plain->exit_code, 0);
}

TEST(SubprocessTest, StdinIsEmpty) {
  auto ran = RunCommand({"cat"}, 10s);
  ASSERT_TRUE(ran.ok());
  EXPECT_EQ(ran->out, "");
  EXPECT_EQ(ran->exit_code, 0);
}

TEST(SubprocessTest, ATimeoutKillsTheCommandAndWhatItStarted) {
  const auto start = std::chrono::steady_clock::now();
  // The shell's background child holds the pipes open too: killing only the shell would hang.
  auto ran = RunCommand({"/bin/sh", "-c", "sleep 60 & sleep 60"}, 300ms);
  ASSERT_FALSE(ran.ok());
  EXPECT_EQ(ran.error().code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(ran.error().message().find("ran past its timeout"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
}

TEST(SubprocessTest, OutputPastTheLimitIsDroppedWithoutBlockingTheChild) {
  auto ran = RunCommand({"/bin/sh", "-c", "head -c 3000000 /dev/zero; echo done >&2"}, 30s, 1000);
  ASSERT_TRUE(ran.ok()) << ran.error().ToString();
  EXPECT_EQ(ran->out.size(), 1000u);
  EXPECT_EQ(ran->err, "done\n");
  EXPECT_EQ(ran->exit_code, 0);
}

TEST(SubprocessTest, AMissingCommandIsNotFound) {
  auto ran = RunCommand({"modelrt-no-such-command-x"}, 10s);
  ASSERT_FALSE(ran.ok());
  EXPECT_EQ(ran.error().code(), StatusCode::kNotFound);
  EXPECT_NE(ran.error().message().find("modelrt-no-such-command-x"), std::string::npos);
  EXPECT_FALSE(RunCommand({}, 1s).ok());
}

TEST(SubprocessTest, ASignalIsReportedAs128PlusItsNumber) {
  auto ran = RunCommand({"/bin/sh", "-c", "kill -TERM $$"}, 10s);
  ASSERT_TRUE(ran.ok());
  EXPECT_EQ(ran->exit_code, 128 + 15);
}

}  // namespace
}  // namespace modelrt
