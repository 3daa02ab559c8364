// LlamaGenerator on the real stories260K model: sampling, limits, stop strings, cancellation,
// deadlines, continuous batching and its reproducibility, queueing, chat prompts, validation.
#include "providers/llama/llama_generator.h"

#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "providers/llama/llama_common.h"

namespace modelrt::llama {
namespace {

using namespace std::chrono_literals;

constexpr char kModelPath[] = MODELRT_SOURCE_DIR "/models/stories260K.gguf";

struct GenOptions {
  int ctx = 256;
  int parallel = 4;
  int max_queue = 256;
  std::string chat_template;
  // One decode thread: on a shared, oversubscribed CPU (ctest -j), ggml's barriers with 2 threads
  // make each decode wait for scheduler time slices (tens of times slower).
  int threads = 1;
};

std::shared_ptr<GeneratorModel> MakeGenerator(const GenOptions& g = {}) {
  ModelSpec spec;
  spec.alias = "stories";
  spec.task = Task::kGenerate;
  spec.model = kModelPath;
  LlamaModelOptions options;
  options.ctx = g.ctx;
  options.parallel = g.parallel;
  options.threads = g.threads;
  options.max_queue = g.max_queue;
  options.chat_template = g.chat_template;
  auto generator = CreateLlamaGenerator(spec, options, CallContext{});
  if (!generator.ok()) ADD_FAILURE() << generator.error().ToString();
  return generator.ok() ? *generator : nullptr;
}

GenerateRequest Req(std::string prompt, int max_tokens, float temperature = 0.0f,
                    std::optional<uint32_t> seed = std::nullopt) {
  GenerateRequest r;
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  r.sampling.temperature = temperature;
  r.sampling.seed = seed;
  return r;
}

// Generates and requires success.
GenerateResult MustGenerate(GeneratorModel& g, const GenerateRequest& r,
                            const TokenCallback& cb = nullptr, const CallContext& ctx = {}) {
  auto result = g.Generate(r, cb, ctx);
  EXPECT_TRUE(result.ok()) << result.error().ToString();
  return result.ok() ? *result : GenerateResult{};
}

TEST(LlamaGeneratorTest, PromptProducesTextAndUsage) {
  auto gen = MakeGenerator();
  ASSERT_TRUE(gen);
  std::string streamed;
  int calls = 0;
  auto result = MustGenerate(*gen, Req("Once upon a time", 16, 0.8f, 7), [&](std::string_view p) {
    EXPECT_FALSE(p.empty());
    streamed += p;
    ++calls;
    return true;
  });
  EXPECT_FALSE(result.text.empty());
  EXPECT_EQ(streamed, result.text);
  EXPECT_GT(calls, 0);
  // BOS + the prompt's tokens, as the model's own tokenizer counts them.
  LlamaModelOptions load_options;
  auto model = LoadLlamaModel(kModelPath, load_options, CallContext{});
  ASSERT_TRUE(model.ok());
  auto tokens = Tokenize(llama_model_get_vocab(model->get()), "Once upon a time", true, false);
  EXPECT_EQ(result.prompt_tokens, static_cast<int64_t>(tokens.size()));
  EXPECT_GT(result.completion_tokens, 0);
  EXPECT_LE(result.completion_tokens, 16);
}

TEST(LlamaGeneratorTest, SameSeedSameText) {
  auto gen = MakeGenerator();
  ASSERT_TRUE(gen);
  auto a = MustGenerate(*gen, Req("Once upon a time", 32, 0.8f, 1234));
  auto b = MustGenerate(*gen, Req("Once upon a time", 32, 0.8f, 1234));
  EXPECT_FALSE(a.text.empty());
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.completion_tokens, b.completion_tokens);
}

TEST(LlamaGeneratorTest, GreedyIsDeterministic) {
  auto gen = MakeGenerator();
  ASSERT_TRUE(gen);
  auto a = MustGenerate(*gen, Req("Once upon a time", 24));
  auto b = MustGenerate(*gen, Req("Once upon a time", 24));
  EXPECT_FALSE(a.text.empty());
  EXPECT_EQ(a.text, b.text);
}

TEST(LlamaGeneratorTest, DifferentSeedsUsuallyDiffer) {
  auto gen = MakeGenerator();
  ASSERT_TRUE(gen);
  std::set<std::string> texts;
  for (uint32_t seed = 1; seed <= 5; ++seed)
    texts.insert(MustGenerate(*gen, Req("Once upon a time", 24, 1.0f, seed)).text);
  EXPECT_GE(texts.size(), 2u);
}

TEST(LlamaGeneratorTest, MaxTokensEndsWithLength) {
  auto gen = MakeGenerator();
  ASSERT_TRUE(gen);
  auto result = MustGenerate(*gen, Req("Once upon a time", 5));
  EXPECT_EQ(result.finish_reason, FinishReason::kLength);
  EXPECT_EQ(result.completion_tokens, 5);
}

TEST(LlamaGeneratorTest, UnlimitedTokensStopAtTheContextEnd) {
  auto gen = MakeGenerator({.ctx = 64, .parallel = 2});
  ASSERT_TRUE(gen);
  GenerateRequest r = Req("Once upon a time", 0);
  r.ignore_eos = true;
  auto result = MustGenerate(*gen, r);
  EXPECT_EQ(result.finish_reason, FinishReason::kLength);
  // Every context cell holds a prompt or completion token, plus the last sampled one.
  EXPECT_EQ(result.prompt_tokens + result.completion_tokens, 64 + 1);
}

TEST(LlamaGeneratorTest, StopStringEndsBeforeIt) {
  auto gen = MakeGenerator();
  ASSERT_TRUE(gen);
  auto full = MustGenerate(*gen, Req("Once upon a time", 40));
  // A word from the middle of the output.
  std::vector<std::string> words;
  for (size_t pos = 0; pos < full.text.size();) {
    size_t end = full.text.find(' ', pos);
    if (end == std::string::npos) end = full.text.size();
    if (end > pos) words.push_back(full.text.substr(pos, end - pos));
    pos = end + 1;
  }
  ASSERT_GE(words.size(), 4u) << full.text;
  const std::string stop = " " + words[3];
  const std::string expected = full.text.substr(0, full.text.find(stop));

  GenerateRequest r = Req("Once upon a time", 40);
  r.stop = {stop, "no such stop string"};
  std::string streamed;
  auto result = MustGenerate(*gen, r, [&](std::string_view p) {
    streamed += p;
    return true;
  });
  EXPECT_EQ(result.finish_reason, FinishReason::kStop);
  EXPECT_EQ(result.text, expected);
  EXPECT_EQ(streamed, expected);
  EXPECT_EQ(result.text.find(stop), std::string::npos);
}

TEST(LlamaGeneratorTest, CallbackCancelsAndFreesTheSlot) {
  auto gen = MakeGenerator({.parallel = 1});
  ASSERT_TRUE(gen);
  GenerateRequest r = Req("Once upon a time", 0);
  r.ignore_eos = true;
  int pieces = 0;
  std::string seen;
  auto result = MustGenerate(*gen, r, [&](std::string_view p) {
    seen += p;
    return ++pieces < 3;
  });
  EXPECT_EQ(result.finish_reason, FinishReason::kCancelled);
  EXPECT_EQ(pieces, 3);
  EXPECT_EQ(result.text, seen);
  // The only slot is free again.
  auto next = MustGenerate(*gen, Req("Once upon a time", 4));
  EXPECT_EQ(next.finish_reason, FinishReason::kLength);
  EXPECT_EQ(next.completion_tokens, 4);
}

TEST(LlamaGeneratorTest, CancelledContextEndsWithCancelled) {
  auto gen = MakeGenerator({.parallel = 1});
  ASSERT_TRUE(gen);
  GenerateRequest r = Req("Once upon a time", 0);
  r.ignore_eos = true;
  CallContext ctx;
  int pieces = 0;
  auto result = MustGenerate(*gen, r, [&](std::string_view) {
    if (++pieces == 2) ctx.Cancel();
    return true;
  }, ctx);
  EXPECT_EQ(result.finish_reason, FinishReason::kCancelled);
  EXPECT_EQ(pieces, 2);
  EXPECT_EQ(MustGenerate(*gen, Req("Once upon a time", 3)).completion_tokens, 3);
}

TEST(LlamaGeneratorTest, DeadlineExceeded) {
  auto gen = MakeGenerator({.parallel = 1});
  ASSERT_TRUE(gen);
  // A callback slower than the deadline: the call must still end by (about) the deadline.
  GenerateRequest r = Req("Once upon a time", 100);
  r.ignore_eos = true;
  auto result = gen->Generate(r, [](std::string_view) {
    std::this_thread::sleep_for(10ms);
    return true;
  }, CallContext::WithTimeout(40ms));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), StatusCode::kDeadlineExceeded);

  CallContext expired;
  expired.deadline = Clock::now() - 1s;
  auto late = gen->Generate(Req("Once upon a time", 4), nullptr, expired);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code(), StatusCode::kDeadlineExceeded);
  // The slot is usable afterwards.
  EXPECT_EQ(MustGenerate(*gen, Req("Once upon a time", 3)).completion_tokens, 3);
}

// Runs `requests` at once, one thread each, released together.
std::vector<Result<GenerateResult>> RunConcurrently(GeneratorModel& gen,
                                                    const std::vector<GenerateRequest>& requests) {
  std::vector<std::future<Result<GenerateResult>>> futures;
  std::promise<void> go;
  std::shared_future<void> start = go.get_future().share();
  for (const auto& r : requests)
    futures.push_back(std::async(std::launch::async, [&gen, r, start] {
      start.wait();
      return gen.Generate(r, nullptr, CallContext{});
    }));
  go.set_value();
  std::vector<Result<GenerateResult>> results;
  for (auto& f : futures) results.push_back(f.get());
  return results;
}

TEST(LlamaGeneratorTest, ConcurrentSeededGenerationsMatchOneAtATime) {
  auto gen = MakeGenerator({.parallel = 4});
  ASSERT_TRUE(gen);
  std::vector<GenerateRequest> requests;
  for (uint32_t seed = 1; seed <= 4; ++seed)
    requests.push_back(Req("Once upon a time", 32, 0.8f, seed));
  std::vector<std::string> alone;
  for (const auto& r : requests) alone.push_back(MustGenerate(*gen, r).text);
  auto together = RunConcurrently(*gen, requests);
  for (size_t i = 0; i < requests.size(); ++i) {
    ASSERT_TRUE(together[i].ok()) << together[i].error().ToString();
    EXPECT_EQ(together[i]->text, alone[i]) << "seed " << i + 1;
  }
}

TEST(LlamaGeneratorTest, StaggeredBatchesMatchOneAtATime) {
  // Different prompts and lengths over fewer slots: sequences join and leave mid-flight, so
  // slots are reused and moved; every text must still equal its solo run.
  auto gen = MakeGenerator({.parallel = 3});
  ASSERT_TRUE(gen);
  const std::vector<std::string> prompts = {"Once upon a time", "The little dog", "Lily and Tom",
                                            "One day", "The sun was", "Tim had a big"};
  const int lengths[] = {9, 30, 17, 24, 5, 21};
  std::vector<GenerateRequest> requests;
  for (size_t i = 0; i < prompts.size(); ++i) {
    requests.push_back(Req(prompts[i], lengths[i], i % 2 ? 0.0f : 0.9f, 100 + i));
    requests.back().sampling.repeat_penalty = 1.1f;
  }
  std::vector<std::string> alone;
  for (const auto& r : requests) alone.push_back(MustGenerate(*gen, r).text);
  auto together = RunConcurrently(*gen, requests);
  for (size_t i = 0; i < requests.size(); ++i) {
    ASSERT_TRUE(together[i].ok()) << together[i].error().ToString();
    EXPECT_EQ(together[i]->text, alone[i]) << "request " << i;
  }
}

TEST(LlamaGeneratorTest, MoreRequestsThanSlotsQueueAndComplete) {
  auto gen = MakeGenerator({.parallel = 2});
  ASSERT_TRUE(gen);
  std::vector<GenerateRequest> requests;
  for (uint32_t i = 0; i < 8; ++i) requests.push_back(Req("Once upon a time", 12, 0.8f, i));
  auto results = RunConcurrently(*gen, requests);
  for (auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    EXPECT_FALSE(r->text.empty());
    EXPECT_GT(r->completion_tokens, 0);
  }
}

TEST(LlamaGeneratorTest, FullQueueIsResourceExhausted) {
  // One slot, one queue place. A long generation holds the slot until we cancel it.
  auto gen = MakeGenerator({.ctx = 2048, .parallel = 1, .max_queue = 1});
  ASSERT_TRUE(gen);
  GenerateRequest long_request = Req("Once upon a time", 0);
  long_request.ignore_eos = true;
  CallContext long_ctx;
  std::promise<void> started;
  auto holder = std::async(std::launch::async, [&] {
    bool first = true;
    return gen->Generate(long_request, [&](std::string_view) {
      if (first) started.set_value();
      first = false;
      return true;
    }, long_ctx);
  });
  ASSERT_EQ(started.get_future().wait_for(30s), std::future_status::ready);

  // Two more: one waits in the queue, the other finds it full.
  auto b = std::async(std::launch::async, [&] { return gen->Generate(Req("One day", 4), nullptr, {}); });
  auto c = std::async(std::launch::async, [&] { return gen->Generate(Req("One day", 4), nullptr, {}); });
  std::future<Result<GenerateResult>>* rejected = nullptr;
  std::future<Result<GenerateResult>>* queued = nullptr;
  for (auto deadline = Clock::now() + 30s; !rejected && Clock::now() < deadline;) {
    if (b.wait_for(1ms) == std::future_status::ready) rejected = &b, queued = &c;
    else if (c.wait_for(1ms) == std::future_status::ready) rejected = &c, queued = &b;
  }
  ASSERT_TRUE(rejected) << "neither request was rejected";
  auto rejected_result = rejected->get();
  ASSERT_FALSE(rejected_result.ok());
  EXPECT_EQ(rejected_result.error().code(), StatusCode::kResourceExhausted);

  long_ctx.Cancel();
  auto held = holder.get();
  ASSERT_TRUE(held.ok()) << held.error().ToString();
  EXPECT_EQ(held->finish_reason, FinishReason::kCancelled);
  auto queued_result = queued->get();
  ASSERT_TRUE(queued_result.ok()) << queued_result.error().ToString();
  EXPECT_EQ(queued_result->completion_tokens, 4);
}

TEST(LlamaGeneratorTest, ChatMessagesUseThePlainFallback) {
  auto gen = MakeGenerator();  // stories260K has no chat template
  ASSERT_TRUE(gen);
  GenerateRequest r;
  r.messages = {{"system", "You tell stories."}, {"user", "Tell me about a cat."}};
  r.max_tokens = 8;
  r.sampling.temperature = 0;
  auto result = MustGenerate(*gen, r);
  EXPECT_GT(result.completion_tokens, 0);
  auto same = MustGenerate(*gen, Req("System: You tell stories.\nUser: Tell me about a cat.\nAssistant:", 8));
  EXPECT_EQ(result.prompt_tokens, same.prompt_tokens);
  EXPECT_EQ(result.text, same.text);
}

TEST(LlamaGeneratorTest, ChatTemplateOverride) {
  auto gen = MakeGenerator({.chat_template = "chatml"});
  ASSERT_TRUE(gen);
  GenerateRequest r;
  r.messages = {{"user", "hi"}};
  r.max_tokens = 4;
  EXPECT_TRUE(gen->Generate(r, nullptr, {}).ok());

  ModelSpec spec{.alias = "bad", .task = Task::kGenerate, .model = kModelPath};
  LlamaModelOptions options;
  options.ctx = 128;
  options.chat_template = "not a template llama.cpp knows";
  auto bad = CreateLlamaGenerator(spec, options, CallContext{});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
}

TEST(LlamaGeneratorTest, OverlongPromptIsInvalidArgument) {
  auto gen = MakeGenerator();
  ASSERT_TRUE(gen);
  std::string prompt;
  for (int i = 0; i < 100; ++i) prompt += "Once upon a time ";
  auto result = gen->Generate(Req(prompt, 4), nullptr, {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(result.error().message().find("256"), std::string::npos) << result.error().message();
  EXPECT_NE(result.error().message().find("255"), std::string::npos) << result.error().message();
}

TEST(LlamaGeneratorTest, EmptyPromptIsInvalidArgument) {
  auto gen = MakeGenerator();
  ASSERT_TRUE(gen);
  auto result = gen->Generate(Req("", 4), nullptr, {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), StatusCode::kInvalidArgument);
}

TEST(LlamaGeneratorTest, BadSamplingIsInvalidArgument) {
  auto gen = MakeGenerator();
  ASSERT_TRUE(gen);
  GenerateRequest r = Req("Once upon a time", 4, 0.8f);
  r.sampling.top_p = 0;
  auto result = gen->Generate(r, nullptr, {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(result.error().message().find("top_p"), std::string::npos);
}

TEST(LlamaGeneratorTest, InfoAndWarmup) {
  auto gen = MakeGenerator({.ctx = 256, .parallel = 4});
  ASSERT_TRUE(gen);
  ModelInfo info = gen->Info();
  EXPECT_EQ(info.context_length, 256);
  EXPECT_EQ(info.parallel, 4);
  EXPECT_GT(info.memory_bytes, 1000000);  // ~1 MB of weights plus the KV cache
  EXPECT_FALSE(info.description.empty());
  EXPECT_EQ(gen->task(), Task::kGenerate);
  EXPECT_TRUE(gen->Warmup().ok());
  EXPECT_TRUE(gen->Health().ok());
}

TEST(LlamaGeneratorTest, MissingModelIsNotFound) {
  ModelSpec spec{.alias = "missing", .task = Task::kGenerate, .model = "/nonexistent/model.gguf"};
  auto result = CreateLlamaGenerator(spec, LlamaModelOptions{}, CallContext{});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace modelrt::llama
