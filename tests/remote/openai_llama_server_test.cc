// The `openai` provider against a real llama-server from the pinned llama.cpp: embeddings,
// chat (whole and streamed), completions and rerank through the library and through
// `modelrt serve`, each equal to what llama-server answers when called directly.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>

#include "cli/serve_process.h"
#include "core/json.h"
#include "modelrt/provider.h"
#include "net/http_client.h"
#include "support/http_fetch.h"
#include "support/llama_test_models.h"
#include "support/llama_tools.h"
#include "support/upstream_server.h"

namespace modelrt {
namespace {

using namespace std::chrono_literals;
using testing::LlamaServer;
using testing::TestModel;
using testing::TestTempDir;
using testing::UpstreamReply;
using testing::UpstreamRequestSeen;
using testing::UpstreamServer;

// Calls llama-server directly: the reference answers.
Json Direct(const LlamaServer& server, const std::string& path, const Json& body) {
  auto r = testing::FetchAndWait({.method = "POST",
                                  .url = *net::ParseUrl(server.url() + path),
                                  .headers = {{"content-type", "application/json"}},
                                  .body = body.dump()});
  if (!r) return Json{{"transport_error", r.error().ToString()}};
  return Json::parse(r->body);
}

class OpenAiAgainstLlamaServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = TestTempDir();
    chat_ = LlamaServer::Start(MODELRT_SOURCE_DIR "/models/stories260K.gguf", {"-c", "512"},
                               dir + "/llama-server-chat.log")
                .release();
    embed_ = LlamaServer::Start(TestModel(llama::TestModelKind::kBertEmbed),
                                {"--embeddings", "-c", "512"}, dir + "/llama-server-embed.log")
                 .release();
    rerank_ = LlamaServer::Start(TestModel(llama::TestModelKind::kBertRerank),
                                 {"--reranking", "-c", "512"}, dir + "/llama-server-rerank.log")
                  .release();
  }
  static void TearDownTestSuite() {
    delete chat_;
    delete embed_;
    delete rerank_;
    chat_ = embed_ = rerank_ = nullptr;
  }
  void SetUp() override {
    if (!testing::HaveLlamaTool("llama-server")) GTEST_SKIP() << "llama-server is not built";
    ASSERT_NE(chat_, nullptr) << "llama-server (chat) did not start";
    ASSERT_NE(embed_, nullptr) << "llama-server (embeddings) did not start";
    ASSERT_NE(rerank_, nullptr) << "llama-server (rerank) did not start";
  }

  static std::shared_ptr<Model> Load(const LlamaServer& server, Task task) {
    auto provider = CreateProvider(
        {.id = "up", .type = "openai", .base_url = server.url() + "/v1"});
    EXPECT_TRUE(provider.ok()) << provider.error().ToString();
    ModelSpec spec;
    spec.alias = "remote";
    spec.task = task;
    spec.provider = "up";
    spec.model = "test";
    auto model = (*provider)->Load(spec, CallContext::WithTimeout(30s));
    EXPECT_TRUE(model.ok()) << model.error().ToString();
    return model.ok() ? *model : nullptr;
  }

  static LlamaServer* chat_;
  static LlamaServer* embed_;
  static LlamaServer* rerank_;
};

LlamaServer* OpenAiAgainstLlamaServer::chat_ = nullptr;
LlamaServer* OpenAiAgainstLlamaServer::embed_ = nullptr;
LlamaServer* OpenAiAgainstLlamaServer::rerank_ = nullptr;

TEST_F(OpenAiAgainstLlamaServer, EmbeddingsEqualLlamaServersOwn) {
  auto model = std::dynamic_pointer_cast<EmbeddingModel>(Load(*embed_, Task::kEmbed));
  ASSERT_NE(model, nullptr);
  auto result = model->Embed({.inputs = {{.text = "hello world"}, {.text = "a second text"}}},
                             CallContext::WithTimeout(30s));
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  Json direct = Direct(*embed_, "/v1/embeddings",
                       {{"model", "test"}, {"input", {"hello world", "a second text"}},
                        {"encoding_format", "float"}});
  ASSERT_TRUE(direct.contains("data")) << direct.dump();
  ASSERT_EQ(result->embeddings.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(result->embeddings[i], direct["data"][i]["embedding"].get<std::vector<float>>());
  }
  EXPECT_EQ(result->prompt_tokens, direct["usage"]["prompt_tokens"].get<int64_t>());
  EXPECT_EQ(model->Info().dimensions, static_cast<int>(result->embeddings[0].size()));
}

TEST_F(OpenAiAgainstLlamaServer, ChatWholeAndStreamedEqualLlamaServersOwn) {
  auto model = std::dynamic_pointer_cast<GeneratorModel>(Load(*chat_, Task::kGenerate));
  ASSERT_NE(model, nullptr);
  GenerateRequest request;
  request.messages = {{"user", "Once upon a time"}};
  request.sampling.temperature = 0;
  request.sampling.seed = 7;
  request.max_tokens = 24;
  auto whole = model->Generate(request, nullptr, CallContext::WithTimeout(30s));
  ASSERT_TRUE(whole.ok()) << whole.error().ToString();
  Json direct = Direct(*chat_, "/v1/chat/completions",
                       {{"model", "test"},
                        {"messages", {{{"role", "user"}, {"content", "Once upon a time"}}}},
                        {"temperature", 0},
                        {"top_p", request.sampling.top_p},
                        {"seed", 7},
                        {"max_tokens", 24}});
  ASSERT_TRUE(direct.contains("choices")) << direct.dump();
  EXPECT_EQ(whole->text, direct["choices"][0]["message"]["content"].get<std::string>());
  EXPECT_FALSE(whole->text.empty());
  EXPECT_EQ(whole->completion_tokens, direct["usage"]["completion_tokens"].get<int64_t>());
  EXPECT_EQ(whole->finish_reason, FinishReason::kLength);

  std::string pieces;
  int count = 0;
  auto streamed = model->Generate(
      request,
      [&](std::string_view piece) {
        pieces += piece;
        ++count;
        return true;
      },
      CallContext::WithTimeout(30s));
  ASSERT_TRUE(streamed.ok()) << streamed.error().ToString();
  EXPECT_EQ(pieces, whole->text);
  EXPECT_EQ(streamed->text, whole->text);
  EXPECT_GT(count, 1);
  EXPECT_EQ(streamed->completion_tokens, whole->completion_tokens);  // include_usage
  EXPECT_GT(streamed->prompt_tokens, 0);
}

TEST_F(OpenAiAgainstLlamaServer, APromptGoesToCompletions) {
  auto model = std::dynamic_pointer_cast<GeneratorModel>(Load(*chat_, Task::kGenerate));
  ASSERT_NE(model, nullptr);
  GenerateRequest request;
  request.prompt = "The cat";
  request.sampling.temperature = 0;
  request.max_tokens = 12;
  auto result = model->Generate(request, nullptr, CallContext::WithTimeout(30s));
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  Json direct = Direct(*chat_, "/v1/completions",
                       {{"model", "test"}, {"prompt", "The cat"}, {"temperature", 0},
                        {"top_p", request.sampling.top_p}, {"max_tokens", 12}});
  ASSERT_TRUE(direct.contains("choices")) << direct.dump();
  EXPECT_EQ(result->text, direct["choices"][0]["text"].get<std::string>());
}

TEST_F(OpenAiAgainstLlamaServer, StoppingAStreamClosesTheUpstreamCall) {
  auto model = std::dynamic_pointer_cast<GeneratorModel>(Load(*chat_, Task::kGenerate));
  ASSERT_NE(model, nullptr);
  GenerateRequest request;
  request.prompt = "Once";
  request.max_tokens = 400;
  int pieces = 0;
  auto result = model->Generate(
      request, [&](std::string_view) { return ++pieces < 3; }, CallContext::WithTimeout(30s));
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->finish_reason, FinishReason::kCancelled);
  EXPECT_EQ(pieces, 3);
}

TEST_F(OpenAiAgainstLlamaServer, RerankScoresEqualLlamaServersOwn) {
  auto model = std::dynamic_pointer_cast<RerankerModel>(Load(*rerank_, Task::kRerank));
  ASSERT_NE(model, nullptr);
  const std::vector<std::string> docs = {"a cat sat", "the stock market", "cats and dogs"};
  auto result = model->Rerank({.query = "cats", .documents = docs}, CallContext::WithTimeout(30s));
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  Json direct = Direct(*rerank_, "/v1/rerank",
                       {{"model", "test"}, {"query", "cats"}, {"documents", docs}, {"top_n", 3}});
  ASSERT_TRUE(direct.contains("results")) << direct.dump();
  ASSERT_EQ(result->scores.size(), 3u);
  for (const Json& r : direct["results"]) {
    EXPECT_EQ(result->scores[r["index"].get<size_t>()], r["relevance_score"].get<float>());
  }
}

TEST_F(OpenAiAgainstLlamaServer, AnUnreachableUpstreamFailsTheLoadNamingIt) {
  auto provider = CreateProvider({.id = "up", .type = "openai", .base_url = "http://127.0.0.1:9/v1",
                                  .options = *Options::Parse(R"({"max_retries": 0})")});
  ASSERT_TRUE(provider.ok());
  ModelSpec spec;
  spec.alias = "gone";
  spec.task = Task::kEmbed;
  spec.provider = "up";
  spec.model = "m";
  auto model = (*provider)->Load(spec, CallContext::WithTimeout(10s));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.error().code(), StatusCode::kUpstreamFailed);
  EXPECT_NE(model.error().message().find("127.0.0.1:9"), std::string::npos)
      << model.error().message();
}

TEST_F(OpenAiAgainstLlamaServer, FaultsInFrontOfTheRealUpstreamAreRetriedToItsAnswer) {
  // A fault-injecting proxy before llama-server: 500, 429 with Retry-After, a reset, then the
  // real answer, which must be what llama-server gives directly.
  std::atomic<int> calls{0};
  const std::string upstream = embed_->url();
  UpstreamServer proxy([&](const UpstreamRequestSeen& r) {
    switch (++calls) {
      case 1: return UpstreamReply::Json(500, R"({"error":{"message":"injected"}})");
      case 2: {
        UpstreamReply reply = UpstreamReply::Json(429, R"({"error":{"message":"later"}})");
        reply.headers.push_back({"Retry-After", "1"});
        return reply;
      }
      case 3: return UpstreamReply::WithFault(UpstreamReply::Fault::kResetBeforeHead);
      default: {
        auto got = testing::FetchAndWait({.method = r.method,
                                          .url = *net::ParseUrl(upstream + r.target),
                                          .headers = {{"content-type", "application/json"}},
                                          .body = r.body});
        if (!got) return UpstreamReply::Json(502, "{}");
        return UpstreamReply::Json(got->head.status, got->body);
      }
    }
  });
  auto provider = CreateProvider({.id = "proxied", .type = "openai",
                                  .base_url = proxy.url() + "/v1",
                                  .options = *Options::Parse(R"({"max_retries": 3, "probe": false})")});
  ASSERT_TRUE(provider.ok()) << provider.error().ToString();
  ModelSpec spec;
  spec.alias = "e";
  spec.task = Task::kEmbed;
  spec.provider = "proxied";
  spec.model = "test";
  auto model = std::dynamic_pointer_cast<EmbeddingModel>(
      *(*provider)->Load(spec, CallContext::WithTimeout(10s)));
  auto result = model->Embed({.inputs = {{.text = "hello world"}}}, CallContext::WithTimeout(30s));
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(calls.load(), 4);
  Json direct = Direct(*embed_, "/v1/embeddings", {{"model", "test"}, {"input", {"hello world"}},
                                                   {"encoding_format", "float"}});
  EXPECT_EQ(result->embeddings[0], direct["data"][0]["embedding"].get<std::vector<float>>());
}

TEST_F(OpenAiAgainstLlamaServer, ServedThroughModelrtServeAsIfLocal) {
  const std::string dir = TestTempDir() + "/remote-serve";
  std::filesystem::create_directories(dir);
  const std::string config = dir + "/config.yaml";
  std::ofstream(config) << "providers:\n"
                        << "  - { id: up, type: openai, base_url: \"" << embed_->url() << "/v1\" }\n"
                        << "  - { id: upchat, type: openai, base_url: \"" << chat_->url()
                        << "/v1\" }\n"
                        << "  - { id: gone, type: openai, base_url: \"http://127.0.0.1:9/v1\","
                        << " options: { probe: false, max_retries: 0 } }\n"
                        << "models:\n"
                        << "  - { alias: e, task: embed, provider: up, model: test }\n"
                        << "  - { alias: e2, task: embed, provider: gone, model: test,"
                        << " fallbacks: [e] }\n"
                        << "  - { alias: c, task: generate, provider: upchat, model: test }\n";
  testing::ServeProcess serve(config, {"MODELRT_DATA_DIR=" + dir}, dir + "/serve.log");
  ASSERT_TRUE(serve.Start()) << serve.log();
  auto post = [&](const std::string& path, const Json& body) {
    return testing::FetchAndWait({.method = "POST",
                                  .url = *net::ParseUrl(serve.url() + path),
                                  .headers = {{"content-type", "application/json"}},
                                  .body = body.dump()});
  };
  auto ours = post("/v1/embeddings", {{"model", "e"}, {"input", "hello world"}});
  ASSERT_TRUE(ours.ok()) << ours.error().ToString();
  ASSERT_EQ(ours->head.status, 200) << ours->body;
  Json direct = Direct(*embed_, "/v1/embeddings", {{"model", "test"}, {"input", {"hello world"}},
                                                   {"encoding_format", "float"}});
  // The same floats (each server prints them in its own number format).
  const auto expected = direct["data"][0]["embedding"].get<std::vector<float>>();
  EXPECT_EQ(Json::parse(ours->body)["data"][0]["embedding"].get<std::vector<float>>(), expected);

  // An alias whose upstream is gone is answered by its fallback, which the answer names.
  auto fell_back = post("/v1/embeddings", {{"model", "e2"}, {"input", "hello world"}});
  ASSERT_TRUE(fell_back.ok()) << fell_back.error().ToString();
  ASSERT_EQ(fell_back->head.status, 200) << fell_back->body;
  EXPECT_EQ(fell_back->head.Header("x-modelrt-served-by").value_or(""), "e");
  EXPECT_EQ(Json::parse(fell_back->body)["model"], "e");
  EXPECT_EQ(Json::parse(fell_back->body)["data"][0]["embedding"].get<std::vector<float>>(),
            expected);

  // The failed upstream's breaker is on /metrics.
  auto text =
      testing::FetchAndWait({.method = "GET", .url = *net::ParseUrl(serve.url() + "/metrics")});
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->body.find("modelrt_upstream_breaker_state{"), std::string::npos);
  EXPECT_NE(text->body.find("provider=\"gone\""), std::string::npos);

  auto chat = post("/v1/chat/completions",
                   {{"model", "c"},
                    {"messages", {{{"role", "user"}, {"content", "Once upon a time"}}}},
                    {"temperature", 0},
                    {"max_tokens", 16},
                    {"stream", true}});
  ASSERT_TRUE(chat.ok()) << chat.error().ToString();
  ASSERT_EQ(chat->head.status, 200) << chat->body;
  EXPECT_NE(chat->body.find("data: [DONE]"), std::string::npos) << chat->body;
}

// Logprobs through the provider equal llama-server's own, whole, streamed and for completions;
// the alternatives are as many as asked (llama-server collects none for 0, so one is asked for
// and dropped). The tokens are the same; the values to rounding, as llama-server reuses its
// prompt cache between the calls (another path through the same logits).
constexpr float kLogprobTolerance = 1e-4f;

TEST_F(OpenAiAgainstLlamaServer, LogprobsEqualLlamaServersOwn) {
  auto model = std::dynamic_pointer_cast<GeneratorModel>(Load(*chat_, Task::kGenerate));
  ASSERT_NE(model, nullptr);
  GenerateRequest request;
  request.messages = {{"user", "Once upon a time"}};
  request.sampling.temperature = 0;
  request.max_tokens = 8;
  request.logprobs = true;
  request.top_logprobs = 3;
  auto whole = model->Generate(request, nullptr, CallContext::WithTimeout(30s));
  ASSERT_TRUE(whole.ok()) << whole.error().ToString();
  Json direct = Direct(*chat_, "/v1/chat/completions",
                       {{"model", "test"},
                        {"messages", {{{"role", "user"}, {"content", "Once upon a time"}}}},
                        {"temperature", 0}, {"top_p", request.sampling.top_p}, {"max_tokens", 8},
                        {"logprobs", true}, {"top_logprobs", 3}});
  const Json& content = direct["choices"][0]["logprobs"]["content"];
  ASSERT_TRUE(content.is_array()) << direct.dump();
  ASSERT_EQ(whole->logprobs.size(), content.size());
  for (size_t i = 0; i < content.size(); ++i) {
    EXPECT_EQ(whole->logprobs[i].token, content[i]["token"].get<std::string>());
    EXPECT_NEAR(whole->logprobs[i].logprob, content[i]["logprob"].get<float>(), kLogprobTolerance);
    ASSERT_EQ(whole->logprobs[i].top.size(), 3u);
    for (size_t k = 0; k < 3; ++k) {
      EXPECT_EQ(whole->logprobs[i].top[k].first, content[i]["top_logprobs"][k]["token"].get<std::string>());
      EXPECT_NEAR(whole->logprobs[i].top[k].second,
                  content[i]["top_logprobs"][k]["logprob"].get<float>(), kLogprobTolerance);
    }
  }
  auto streamed = model->Generate(request, [](std::string_view) { return true; },
                                  CallContext::WithTimeout(30s));
  ASSERT_TRUE(streamed.ok()) << streamed.error().ToString();
  ASSERT_EQ(streamed->logprobs.size(), whole->logprobs.size());
  for (size_t i = 0; i < whole->logprobs.size(); ++i) {
    EXPECT_EQ(streamed->logprobs[i].token, whole->logprobs[i].token);
    EXPECT_NEAR(streamed->logprobs[i].logprob, whole->logprobs[i].logprob, kLogprobTolerance);
  }

  request.top_logprobs = 0;
  auto bare = model->Generate(request, nullptr, CallContext::WithTimeout(30s));
  ASSERT_TRUE(bare.ok()) << bare.error().ToString();
  ASSERT_EQ(bare->logprobs.size(), whole->logprobs.size());
  for (size_t i = 0; i < bare->logprobs.size(); ++i) {
    EXPECT_TRUE(bare->logprobs[i].top.empty());
    EXPECT_NEAR(bare->logprobs[i].logprob, whole->logprobs[i].logprob, kLogprobTolerance);
  }

  GenerateRequest completion;
  completion.prompt = "The cat";
  completion.sampling.temperature = 0;
  completion.max_tokens = 6;
  completion.logprobs = true;
  completion.top_logprobs = 2;
  auto text = model->Generate(completion, nullptr, CallContext::WithTimeout(30s));
  ASSERT_TRUE(text.ok()) << text.error().ToString();
  Json direct_text = Direct(*chat_, "/v1/completions",
                            {{"model", "test"}, {"prompt", "The cat"}, {"temperature", 0},
                             {"top_p", completion.sampling.top_p}, {"max_tokens", 6}, {"logprobs", 2}});
  const Json& text_content = direct_text["choices"][0]["logprobs"]["content"];
  ASSERT_TRUE(text_content.is_array()) << direct_text.dump();
  ASSERT_EQ(text->logprobs.size(), text_content.size());
  for (size_t i = 0; i < text_content.size(); ++i) {
    EXPECT_NEAR(text->logprobs[i].logprob, text_content[i]["logprob"].get<float>(), kLogprobTolerance);
    EXPECT_EQ(text->logprobs[i].top.size(), 2u);
  }
}

// Tools through the provider, against two real OpenAI-compatible servers serving a model whose
// GGUF carries Qwen 2.5's template: llama-server (its own chat support renders the tools and
// parses the reply) and `modelrt serve`. At this pin llama-server cannot constrain a required
// call on such a test model (its grammar for it starts with the template's special tokens,
// which the test vocabulary lacks: "Failed to initialize samplers"), so required calls are
// tested against modelrt serve, and llama-server checks that tools and a call's result are sent
// as it renders them.
class OpenAiToolsAgainstRealServers : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string model = testing::TestChatModel("Qwen-Qwen2.5-7B-Instruct");
    const std::string dir = TestTempDir();
    llama_ = LlamaServer::Start(model, {"--jinja", "-c", "2048", "-np", "1"},
                                dir + "/llama-server-tools.log")
                 .release();
    const std::string config = dir + "/tools-upstream.json";
    std::ofstream(config) << Json{{"providers", {{{"id", "local"}, {"type", "llama"},
                                                  {"options", {{"threads", 1}}}}}},
                                  {"models", {{{"alias", "tools"}, {"task", "generate"},
                                               {"provider", "local"}, {"model", model},
                                               {"options", {{"ctx", 2048}, {"parallel", 2}}}}}}}
                                 .dump();
    modelrt_ = new testing::ServeProcess(config, {"MODELRT_DATA_DIR=" + dir + "/tools-upstream"},
                                         dir + "/tools-upstream.log");
    if (!modelrt_->Start()) {
      delete modelrt_;
      modelrt_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    delete llama_;
    delete modelrt_;
    llama_ = nullptr;
    modelrt_ = nullptr;
  }
  void SetUp() override {
    if (!testing::HaveLlamaTool("llama-server")) GTEST_SKIP() << "llama-server is not built";
    ASSERT_NE(llama_, nullptr) << "llama-server (tools) did not start";
    ASSERT_NE(modelrt_, nullptr) << "modelrt serve (tools) did not start";
  }

  static std::shared_ptr<GeneratorModel> Connect(const std::string& base_url,
                                                 const std::string& model) {
    auto provider = CreateProvider({.id = "up", .type = "openai", .base_url = base_url});
    EXPECT_TRUE(provider.ok()) << provider.error().ToString();
    if (!provider.ok()) return nullptr;
    ModelSpec spec;
    spec.alias = "remote";
    spec.task = Task::kGenerate;
    spec.provider = "up";
    spec.model = model;
    auto loaded = (*provider)->Load(spec, CallContext::WithTimeout(30s));
    EXPECT_TRUE(loaded.ok()) << loaded.error().ToString();
    return loaded.ok() ? std::dynamic_pointer_cast<GeneratorModel>(*loaded) : nullptr;
  }

  static constexpr const char* kSchema =
      R"({"type":"object","properties":{"city":{"enum":["Paris","Tokyo","Lima"]},)"
      R"("days":{"type":"integer","minimum":1,"maximum":7}},"required":["city","days"],)"
      R"("additionalProperties":false})";

  static GenerateRequest Ask(uint32_t seed) {
    GenerateRequest r;
    r.messages = {{.role = "user", .content = "What is the weather in Paris this week?"}};
    r.tools = {{"get_weather", "The weather in a city", kSchema}};
    r.tool_choice = ToolChoice::kRequired;
    r.sampling.temperature = 1.0f;
    r.sampling.seed = seed;
    r.max_tokens = 200;
    return r;
  }

  static LlamaServer* llama_;
  static testing::ServeProcess* modelrt_;
};

LlamaServer* OpenAiToolsAgainstRealServers::llama_ = nullptr;
testing::ServeProcess* OpenAiToolsAgainstRealServers::modelrt_ = nullptr;

TEST_F(OpenAiToolsAgainstRealServers, RequiredCallsArriveWholeAndStreamed) {
  auto model = Connect(modelrt_->url() + "/v1", "tools");
  ASSERT_NE(model, nullptr);
  for (uint32_t seed = 0; seed < 4; ++seed) {
    auto whole = model->Generate(Ask(seed), nullptr, CallContext::WithTimeout(60s));
    ASSERT_TRUE(whole.ok()) << whole.error().ToString();
    EXPECT_EQ(whole->finish_reason, FinishReason::kToolCalls);
    ASSERT_FALSE(whole->tool_calls.empty()) << whole->text;
    for (const ToolCall& call : whole->tool_calls) {
      EXPECT_EQ(call.name, "get_weather");
      EXPECT_EQ(call.id.rfind("call_", 0), 0u) << call.id;
      Json args = Json::parse(call.arguments, nullptr, false);
      EXPECT_TRUE(args.is_object() && args.contains("city") && args["days"].is_number_integer())
          << call.arguments;
    }
    // A seed asks for the same reply: the stream's tool-call deltas give the same calls.
    auto streamed = model->Generate(Ask(seed), [](std::string_view) { return true; },
                                    CallContext::WithTimeout(60s));
    ASSERT_TRUE(streamed.ok()) << streamed.error().ToString();
    EXPECT_EQ(streamed->finish_reason, FinishReason::kToolCalls);
    ASSERT_EQ(streamed->tool_calls.size(), whole->tool_calls.size());
    for (size_t i = 0; i < whole->tool_calls.size(); ++i) {
      EXPECT_EQ(streamed->tool_calls[i].name, whole->tool_calls[i].name);
      EXPECT_EQ(streamed->tool_calls[i].arguments, whole->tool_calls[i].arguments);
    }
  }
}

TEST_F(OpenAiToolsAgainstRealServers, ToolsAndACallsResultReachLlamaServerAsItRendersThem) {
  auto model = Connect(llama_->url() + "/v1", "test");
  ASSERT_NE(model, nullptr);
  const ToolCall call{.id = "call_7", .name = "get_weather", .arguments = R"({"city":"Paris","days":2})"};
  GenerateRequest request = Ask(5);
  ChatMessage called{.role = "assistant"};
  called.tool_calls = {call};
  request.messages.push_back(called);
  request.messages.push_back({.role = "tool", .content = R"({"forecast":"sunny"})",
                              .tool_call_id = call.id});
  request.tool_choice = ToolChoice::kAuto;
  request.sampling.temperature = 0;
  request.max_tokens = 12;
  auto whole = model->Generate(request, nullptr, CallContext::WithTimeout(60s));
  ASSERT_TRUE(whole.ok()) << whole.error().ToString();
  // The same conversation written out in OpenAI's shape, sent directly.
  Json body = {
      {"model", "test"},
      {"messages",
       {{{"role", "user"}, {"content", request.messages[0].content}},
        {{"role", "assistant"}, {"content", nullptr},
         {"tool_calls", {{{"id", call.id}, {"type", "function"},
                          {"function", {{"name", call.name}, {"arguments", call.arguments}}}}}}},
        {{"role", "tool"}, {"content", R"({"forecast":"sunny"})"}, {"tool_call_id", call.id}}}},
      {"tools", Json::array({{{"type", "function"},
                              {"function", {{"name", "get_weather"},
                                            {"description", "The weather in a city"},
                                            {"parameters", Json::parse(kSchema)}}}}})},
      {"temperature", 0},
      {"top_p", request.sampling.top_p},
      {"seed", 5},
      {"max_tokens", 12}};
  Json direct = Direct(*llama_, "/v1/chat/completions", body);
  ASSERT_TRUE(direct.contains("choices")) << direct.dump();
  EXPECT_EQ(whole->prompt_tokens, direct["usage"]["prompt_tokens"].get<int64_t>());
  const Json& message = direct["choices"][0]["message"];
  EXPECT_EQ(whole->text, message.value("content", ""));
  EXPECT_EQ(whole->tool_calls.size(), message.contains("tool_calls") ? message["tool_calls"].size() : 0u);
  // Without the call and its result the prompt is shorter: they were really sent.
  GenerateRequest bare = request;
  bare.messages.resize(1);
  auto shorter = model->Generate(bare, nullptr, CallContext::WithTimeout(60s));
  ASSERT_TRUE(shorter.ok()) << shorter.error().ToString();
  EXPECT_LT(shorter->prompt_tokens, whole->prompt_tokens);
}

}  // namespace
}  // namespace modelrt
