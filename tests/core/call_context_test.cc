// CallContext's queue deadline: CheckStart refuses work that has not started by start_by, and
// the refusal is recognisable (the runtime does not retry it, the server answers 503).
#include "modelrt/model.h"

#include <gtest/gtest.h>

namespace modelrt {
namespace {

TEST(CallContextTest, CheckStartRefusesOnlyPastTheQueueDeadline) {
  CallContext ctx;
  EXPECT_TRUE(ctx.CheckStart().ok());  // no queue deadline by default
  ctx.start_by = Clock::now() + std::chrono::hours(1);
  EXPECT_TRUE(ctx.CheckStart().ok());
  ctx.start_by = Clock::now() - std::chrono::milliseconds(1);
  Status late = ctx.CheckStart();
  EXPECT_EQ(late.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(CallContext::IsLateStart(late));
  EXPECT_TRUE(ctx.Check().ok());  // a started request is not bound by it
  // Other Unavailable errors are not late starts.
  EXPECT_FALSE(CallContext::IsLateStart(UnavailableError("model was unloaded")));
  // A cancelled caller is told it was cancelled, not that it was late.
  ctx.Cancel();
  EXPECT_EQ(ctx.CheckStart().code(), StatusCode::kCancelled);
}

TEST(CallContextTest, CancelWakesWhoeverWaitsOnTheSignalOnce) {
  CallContext ctx;
  CallContext copy = ctx;  // copies share the signal
  int runs = 0, forgotten_runs = 0;
  ctx.cancel->OnCancel([&] { ++runs; });
  const uint64_t key = ctx.cancel->OnCancel([&] { ++forgotten_runs; });
  ctx.cancel->Forget(key);
  copy.Cancel();
  copy.Cancel();  // a second cancel runs nothing again
  EXPECT_TRUE(ctx.cancelled());
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(forgotten_runs, 0);
  // Registered after the fact: runs at once.
  ctx.cancel->OnCancel([&] { ++runs; });
  EXPECT_EQ(runs, 2);
}

}  // namespace
}  // namespace modelrt
