// Tests of the dynamic-batching worker itself: how inputs are packed into decodes, that
// concurrent requests share decodes, and that stopping it fails waiting work instead of
// hanging.
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "providers/llama/batch_worker.h"
#include "support/llama_test_models.h"

namespace modelrt::llama {
namespace {

using testing::TestModel;

class BatchWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto model = LoadLlamaModel(TestModel(TestModelKind::kBertEmbed), {}, CallContext{});
    ASSERT_TRUE(model.ok()) << model.error().ToString();
    model_ = std::move(*model);
  }

  std::unique_ptr<BatchWorker> Make(int parallel, int batch, int batch_wait_us, int max_queue = 256) {
    BatchWorkerOptions options{.name = "test", .ctx = 64, .parallel = parallel, .batch = batch,
                               .threads = 1, .max_queue = max_queue, .batch_wait_us = batch_wait_us};
    auto worker = BatchWorker::Create(model_.get(), options);
    EXPECT_TRUE(worker.ok()) << worker.error().ToString();
    return worker.ok() ? std::move(*worker) : nullptr;
  }

  // [CLS] n copies of a word [SEP]
  static std::vector<llama_token> Sequence(int n, llama_token word = 2000) {
    std::vector<llama_token> s = {101};
    s.insert(s.end(), n, word);
    s.push_back(102);
    return s;
  }

  LlamaModelPtr model_;
};

TEST_F(BatchWorkerTest, PacksInputsUpToParallelAndBatchTokens) {
  auto worker = Make(/*parallel=*/4, /*batch=*/64, /*batch_wait_us=*/0);
  ASSERT_TRUE(worker);
  EXPECT_EQ(worker->output_size(), 64);
  EXPECT_EQ(worker->pooling(), LLAMA_POOLING_TYPE_CLS);
  // 8 inputs of 10 tokens: 4 sequences per decode by count.
  std::vector<std::vector<llama_token>> inputs(8, Sequence(8));
  auto out = worker->Run(inputs, CallContext{});
  ASSERT_TRUE(out.ok()) << out.error().ToString();
  ASSERT_EQ(out->size(), 8u);
  for (const auto& v : *out) EXPECT_EQ(v, (*out)[0]);  // identical inputs, identical outputs
  EXPECT_EQ(worker->stats().decodes, 2);
  EXPECT_EQ(worker->stats().sequences, 8);
  EXPECT_EQ(worker->stats().tokens, 80);
  // 3 inputs of 30 tokens: 2 fit in 64 tokens, the third goes to its own decode.
  out = worker->Run(std::vector<std::vector<llama_token>>(3, Sequence(28)), CallContext{});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(worker->stats().decodes, 4);
  EXPECT_EQ(worker->queue_depth(), 0);
}

TEST_F(BatchWorkerTest, ConcurrentRequestsShareDecodes) {
  // A long gather window: requests arriving together are decoded together.
  auto worker = Make(/*parallel=*/8, /*batch=*/512, /*batch_wait_us=*/500000);
  ASSERT_TRUE(worker);
  constexpr int kRequests = 8;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < kRequests; ++i) {
    threads.emplace_back([&, i] {
      auto out = worker->Run({Sequence(3 + i, 2000 + i)}, CallContext{});
      if (out.ok() && out->size() == 1 && (*out)[0].size() == 64u) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kRequests);
  EXPECT_EQ(worker->stats().sequences, kRequests);
  EXPECT_LT(worker->stats().decodes, kRequests);
}

TEST_F(BatchWorkerTest, StoppingFailsWaitingWorkWithUnavailable) {
  auto worker = Make(/*parallel=*/1, /*batch=*/64, /*batch_wait_us=*/0);
  ASSERT_TRUE(worker);
  // One decode per input: this request is still queued when the worker stops.
  std::vector<std::vector<llama_token>> inputs(5000, Sequence(8));
  Result<std::vector<std::vector<float>>> result = InternalError("not run");
  std::thread caller([&] { result = worker->Run(inputs, CallContext{}); });
  while (worker->stats().decodes == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // The caller only waits on its future from here on, so the worker may go away under it
  // (engines never do this: callers hold the model alive; this checks nothing hangs).
  worker.reset();
  caller.join();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), StatusCode::kUnavailable);
}

TEST_F(BatchWorkerTest, CancelledRequestIsDroppedWithoutDecoding) {
  auto worker = Make(/*parallel=*/1, /*batch=*/64, /*batch_wait_us=*/0);
  ASSERT_TRUE(worker);
  CallContext ctx;
  std::vector<std::vector<llama_token>> inputs(2000, Sequence(8));
  Result<std::vector<std::vector<float>>> result = InternalError("not run");
  std::thread caller([&] { result = worker->Run(inputs, ctx); });
  while (worker->stats().decodes == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ctx.Cancel();
  caller.join();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), StatusCode::kCancelled);
  // The worker drops the rest at its next batch: the queue empties and decoding stops well
  // short of the 2000 inputs.
  for (int i = 0; i < 1000 && worker->queue_depth() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(worker->queue_depth(), 0);
  const int64_t decodes = worker->stats().decodes;
  EXPECT_LT(decodes, 2000);
  auto after = worker->Run({Sequence(2)}, CallContext{});
  EXPECT_TRUE(after.ok());
  EXPECT_EQ(worker->stats().decodes, decodes + 1);
}

TEST_F(BatchWorkerTest, RequestPastItsQueueDeadlineIsRefusedWithoutWaitingItsTurn) {
  auto worker = Make(/*parallel=*/1, /*batch=*/64, /*batch_wait_us=*/0);
  ASSERT_TRUE(worker);
  // In front: 2000 inputs, one per decode.
  std::vector<std::vector<llama_token>> inputs(2000, Sequence(8));
  Result<std::vector<std::vector<float>>> front = InternalError("not run");
  std::thread caller([&] { front = worker->Run(inputs, CallContext{}); });
  while (worker->stats().decodes == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // Behind it, a request whose queue deadline has passed: refused at the worker's next batch,
  // long before the 2000 decodes in front of it are done.
  CallContext late;
  late.start_by = Clock::now();
  auto refused = worker->Run({Sequence(4)}, late);
  const int64_t decodes_when_refused = worker->stats().decodes;
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(CallContext::IsLateStart(refused.error())) << refused.error().ToString();
  EXPECT_LT(decodes_when_refused, 2000);
  caller.join();
  // The request in front, already started, is served in full.
  ASSERT_TRUE(front.ok()) << front.error().ToString();
  EXPECT_EQ(front->size(), 2000u);
}

}  // namespace
}  // namespace modelrt::llama
