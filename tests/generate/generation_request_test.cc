// GenerationRequest: the hand-off of pieces from the engine's worker to the caller, for
// streaming callers (woken for every piece) and non-streaming ones (woken once, at the end).
#include "providers/llama/generation_request.h"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace modelrt::llama {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<GenerationRequest> MakeRequest(bool stream) {
  GenerationInput input;
  input.prompt = {1, 2, 3};
  input.stream = stream;
  return std::make_shared<GenerationRequest>(std::move(input));
}

TEST(GenerationRequestTest, StreamingWaitReturnsEachPieceBeforeTheEnd) {
  auto request = MakeRequest(/*stream=*/true);
  request->Emit("Once");
  std::vector<std::string> pieces;
  EXPECT_FALSE(request->Wait(&pieces, Clock::now() + 60s));
  EXPECT_EQ(pieces, std::vector<std::string>{"Once"});
  request->Emit(" upon");
  request->Finish({OkStatus(), FinishReason::kLength, 2});
  EXPECT_TRUE(request->Wait(&pieces, Clock::now() + 60s));
  EXPECT_EQ(pieces, std::vector<std::string>{" upon"});
  EXPECT_EQ(request->outcome().completion_tokens, 2);
}

TEST(GenerationRequestTest, NonStreamingWaitReturnsOnlyAtTheEndOrTheDeadline) {
  auto request = MakeRequest(/*stream=*/false);
  request->Emit("Once");
  // Queued text alone does not end the wait: only the deadline does (wait_until never returns
  // early with the predicate false, so this is not a timing guess).
  std::vector<std::string> pieces;
  const auto deadline = Clock::now() + 50ms;
  EXPECT_FALSE(request->Wait(&pieces, deadline));
  EXPECT_GE(Clock::now(), deadline);
  EXPECT_EQ(pieces, std::vector<std::string>{"Once"});  // drained all the same
  // Finished from another thread while the caller waits without a deadline.
  std::thread worker([&] {
    request->Emit(" upon");
    request->Emit(" a time");
    request->Finish({OkStatus(), FinishReason::kStop, 3});
  });
  EXPECT_TRUE(request->Wait(&pieces, Clock::time_point::max()));
  worker.join();
  EXPECT_EQ(pieces, (std::vector<std::string>{" upon", " a time"}));
  EXPECT_EQ(request->outcome().finish_reason, FinishReason::kStop);
}

TEST(GenerationRequestTest, TextAfterFinishIsDropped) {
  auto request = MakeRequest(/*stream=*/false);
  request->Finish({OkStatus(), FinishReason::kCancelled, 0});
  request->Emit("late");
  std::vector<std::string> pieces;
  EXPECT_TRUE(request->Wait(&pieces, Clock::now() + 60s));
  EXPECT_TRUE(pieces.empty());
}

}  // namespace
}  // namespace modelrt::llama
