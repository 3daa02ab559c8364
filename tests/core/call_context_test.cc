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

}  // namespace
}  // namespace modelrt
