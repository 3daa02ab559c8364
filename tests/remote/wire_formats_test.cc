// Each wire format against a local server that speaks it as its provider documents: the exact
// requests we send (method, path, headers, body) and the answers we read.
#include <gtest/gtest.h>

#include <atomic>

#include "core/json.h"
#include "modelrt/provider.h"
#include "support/upstream_server.h"

namespace modelrt {
namespace {

using namespace std::chrono_literals;
using testing::UpstreamReply;
using testing::UpstreamRequestSeen;
using testing::UpstreamServer;

std::shared_ptr<Model> Load(const std::string& type, const std::string& base_url, Task task,
                            const std::string& model, const std::string& options = "{}") {
  setenv("MODELRT_TEST_FORMAT_KEY", "key-abc", 1);
  Json merged = Json::parse(options);
  merged["probe"] = false;
  auto provider = CreateProvider({.id = "p",
                                  .type = type,
                                  .base_url = base_url,
                                  .api_key_env = "MODELRT_TEST_FORMAT_KEY",
                                  .options = *Options::Parse(merged.dump())});
  EXPECT_TRUE(provider.ok()) << provider.error().ToString();
  if (!provider.ok()) return nullptr;
  ModelSpec spec;
  spec.alias = "a";
  spec.task = task;
  spec.provider = "p";
  spec.model = model;
  auto loaded = (*provider)->Load(spec, CallContext::WithTimeout(5s));
  EXPECT_TRUE(loaded.ok()) << loaded.error().ToString();
  return loaded.ok() ? *loaded : nullptr;
}

TEST(WireFormatsTest, AzureOpenAiUsesDeploymentPathsAndTheApiKeyHeader) {
  UpstreamServer server([](const UpstreamRequestSeen& r) {
    if (r.target.find("/embeddings") != std::string::npos) {
      return UpstreamReply::Json(
          200, R"({"data":[{"index":0,"embedding":[1,0]}],"usage":{"prompt_tokens":1}})");
    }
    return UpstreamReply::Json(
        200, R"({"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":1}})");
  });
  auto embedder = std::dynamic_pointer_cast<EmbeddingModel>(
      Load("azure-openai", server.url(), Task::kEmbed, "emb-deploy", R"({"api_version": "2024-06-01"})"));
  ASSERT_NE(embedder, nullptr);
  ASSERT_TRUE(embedder->Embed({.inputs = {{.text = "x"}}}, CallContext::WithTimeout(5s)).ok());
  auto chat = std::dynamic_pointer_cast<GeneratorModel>(
      Load("azure-openai", server.url(), Task::kGenerate, "gpt-deploy"));
  ASSERT_NE(chat, nullptr);
  GenerateRequest request;
  request.messages = {{"user", "hi"}};
  auto answer = chat->Generate(request, nullptr, CallContext::WithTimeout(5s));
  ASSERT_TRUE(answer.ok()) << answer.error().ToString();
  EXPECT_EQ(answer->text, "ok");
  EXPECT_EQ(answer->finish_reason, FinishReason::kStop);

  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].target, "/openai/deployments/emb-deploy/embeddings?api-version=2024-06-01");
  EXPECT_EQ(seen[0].Header("api-key"), "key-abc");
  EXPECT_EQ(seen[0].Header("authorization"), "");
  EXPECT_EQ(seen[1].target, "/openai/deployments/gpt-deploy/chat/completions?api-version=2024-10-21");
}

TEST(WireFormatsTest, RemoteAliasesRefuseWhatTheirWireFormatsCannotCarry) {
  // A grammar and logit_bias would be dropped on the way, as would logprobs on a format that has
  // none and a tool_choice Ollama cannot be told: each is refused, and nothing reaches the
  // upstream.
  UpstreamServer server([](const UpstreamRequestSeen&) {
    return UpstreamReply::Json(
        200, R"({"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]})");
  });
  auto openai = std::dynamic_pointer_cast<GeneratorModel>(
      Load("openai", server.url(), Task::kGenerate, "gpt"));
  auto anthropic = std::dynamic_pointer_cast<GeneratorModel>(
      Load("anthropic", server.url(), Task::kGenerate, "claude"));
  auto ollama = std::dynamic_pointer_cast<GeneratorModel>(
      Load("ollama", server.url(), Task::kGenerate, "llama3"));
  ASSERT_TRUE(openai && anthropic && ollama);
  struct Case {
    std::string field;
    std::shared_ptr<GeneratorModel> model;
    GenerateRequest request;
  };
  std::vector<Case> cases;
  GenerateRequest base;
  base.messages = {{"user", "hi"}};
  GenerateRequest r = base;
  r.sampling.grammar = "root ::= \"a\"";
  cases.push_back({"grammar", openai, r});
  r = base;
  r.sampling.logit_bias = {{1, 5.0f}};
  cases.push_back({"logit_bias", openai, r});
  r = base;
  r.logprobs = true;
  cases.push_back({"logprobs", anthropic, r});
  r = base;
  r.tools = {{"f", "", R"({"type":"object"})"}};
  r.tool_choice = ToolChoice::kRequired;
  cases.push_back({"tool_choice", ollama, r});
  for (const auto& [field, model, request] : cases) {
    auto answer = model->Generate(request, nullptr, CallContext::WithTimeout(5s));
    ASSERT_FALSE(answer.ok()) << field;
    EXPECT_EQ(answer.error().code(), StatusCode::kInvalidArgument) << field;
    EXPECT_NE(answer.error().message().find(field), std::string::npos) << answer.error().message();
  }
  EXPECT_TRUE(server.requests().empty());
}

TEST(WireFormatsTest, AzureOpenAiNeedsABaseUrl) {
  auto provider = CreateProvider({.id = "az", .type = "azure-openai"});
  ASSERT_FALSE(provider.ok());
  EXPECT_NE(provider.error().message().find("base_url: required"), std::string::npos)
      << provider.error().message();
}

TEST(WireFormatsTest, AnthropicMessagesWholeAndStreamed) {
  // The stream as Anthropic's documentation shows it (event names, ping, usage in two places).
  const std::vector<std::string> events = {
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-x\",\"stop_reason\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n",
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
      "event: ping\ndata: {\"type\": \"ping\"}\n\n",
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n",
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"!\"}}\n\n",
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
      "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n",
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"};
  UpstreamServer server([&](const UpstreamRequestSeen& r) {
    if (Json::parse(r.body).value("stream", false)) return UpstreamReply::Sse(events);
    return UpstreamReply::Json(
        200, R"({"id":"msg_2","type":"message","role":"assistant","content":[{"type":"text","text":"Hi there"}],"model":"claude-x","stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":3}})");
  });
  auto chat = std::dynamic_pointer_cast<GeneratorModel>(
      Load("anthropic", server.url(), Task::kGenerate, "claude-x"));
  ASSERT_NE(chat, nullptr);
  GenerateRequest request;
  request.messages = {{"system", "Be terse."}, {"user", "Hello"}};
  request.sampling.temperature = 0.2f;
  request.sampling.top_p = 1;
  request.max_tokens = 64;
  request.stop = {"END"};
  auto whole = chat->Generate(request, nullptr, CallContext::WithTimeout(5s));
  ASSERT_TRUE(whole.ok()) << whole.error().ToString();
  EXPECT_EQ(whole->text, "Hi there");
  EXPECT_EQ(whole->finish_reason, FinishReason::kStop);
  EXPECT_EQ(whole->prompt_tokens, 12);
  EXPECT_EQ(whole->completion_tokens, 3);

  std::string pieces;
  auto streamed = chat->Generate(request, [&](std::string_view p) { pieces += p; return true; },
                                 CallContext::WithTimeout(5s));
  ASSERT_TRUE(streamed.ok()) << streamed.error().ToString();
  EXPECT_EQ(pieces, "Hello!");
  EXPECT_EQ(streamed->finish_reason, FinishReason::kLength);
  EXPECT_EQ(streamed->prompt_tokens, 25);
  EXPECT_EQ(streamed->completion_tokens, 15);

  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/v1/messages");
  EXPECT_EQ(seen[0].Header("x-api-key"), "key-abc");
  EXPECT_EQ(seen[0].Header("anthropic-version"), "2023-06-01");
  EXPECT_EQ(seen[0].Header("authorization"), "");
  Json expected = Json::parse(R"({"model":"claude-x","max_tokens":64,
      "messages":[{"role":"user","content":"Hello"}],"system":"Be terse.",
      "stop_sequences":["END"]})");
  expected["temperature"] = request.sampling.temperature;  // the float, as sent
  EXPECT_EQ(Json::parse(seen[0].body), expected);
  EXPECT_EQ(Json::parse(seen[1].body)["stream"], true);
}

TEST(WireFormatsTest, AnthropicErrorEventMidStreamIsAnError) {
  UpstreamServer server([](const UpstreamRequestSeen&) {
    return UpstreamReply::Sse(
        {"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":1}}}\n\n",
         "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"});
  });
  auto chat = std::dynamic_pointer_cast<GeneratorModel>(
      Load("anthropic", server.url(), Task::kGenerate, "claude-x", R"({"max_retries": 0})"));
  GenerateRequest request;
  request.prompt = "hi";
  auto r = chat->Generate(request, [](std::string_view) { return true; },
                          CallContext::WithTimeout(5s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.error().message().find("Overloaded"), std::string::npos) << r.error().message();
}

TEST(WireFormatsTest, AnthropicOffersNoEmbeddings) {
  auto provider = CreateProvider({.id = "an", .type = "anthropic"});
  ASSERT_TRUE(provider.ok()) << provider.error().ToString();
  ModelSpec spec;
  spec.alias = "e";
  spec.task = Task::kEmbed;
  spec.provider = "an";
  spec.model = "claude";
  Status status = (*provider)->Validate(spec);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("not offered by provider type 'anthropic'"), std::string::npos);
}

std::shared_ptr<EmbeddingModel> Embedder(const std::string& type, const UpstreamServer& server,
                                         const std::string& base_suffix = "") {
  return std::dynamic_pointer_cast<EmbeddingModel>(
      Load(type, server.url() + base_suffix, Task::kEmbed, "emb-1"));
}
std::shared_ptr<RerankerModel> Reranker(const std::string& type, const UpstreamServer& server,
                                        const std::string& base_suffix = "") {
  return std::dynamic_pointer_cast<RerankerModel>(
      Load(type, server.url() + base_suffix, Task::kRerank, "rr-1"));
}

TEST(WireFormatsTest, CohereEmbedRerankAndChat) {
  UpstreamServer server([](const UpstreamRequestSeen& r) {
    if (r.target == "/v2/embed") {
      return UpstreamReply::Json(200, R"({"id":"e1","embeddings":{"float":[[0.1,0.2],[0.3,0.4]]},
          "texts":["a","b"],"meta":{"api_version":{"version":"2"},"billed_units":{"input_tokens":4}}})");
    }
    if (r.target == "/v2/rerank") {
      return UpstreamReply::Json(200, R"({"id":"r1","results":[{"index":1,"relevance_score":0.9},
          {"index":0,"relevance_score":0.1}],"meta":{"billed_units":{"search_units":1}}})");
    }
    if (Json::parse(r.body)["stream"] == true) {
      return UpstreamReply::Sse(
          {"event: message-start\ndata: {\"id\":\"c1\",\"type\":\"message-start\",\"delta\":{\"message\":{\"role\":\"assistant\",\"content\":[]}}}\n\n",
           "event: content-start\ndata: {\"type\":\"content-start\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"type\":\"text\",\"text\":\"\"}}}}\n\n",
           "event: content-delta\ndata: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"Bon\"}}}}\n\n",
           "event: content-delta\ndata: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"jour\"}}}}\n\n",
           "event: content-end\ndata: {\"type\":\"content-end\",\"index\":0}\n\n",
           "event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"MAX_TOKENS\",\"usage\":{\"billed_units\":{\"input_tokens\":3,\"output_tokens\":2},\"tokens\":{\"input_tokens\":9,\"output_tokens\":2}}}}\n\n"});
    }
    return UpstreamReply::Json(200, R"({"id":"c2","finish_reason":"COMPLETE","message":{"role":"assistant",
        "content":[{"type":"text","text":"Salut"}]},"usage":{"billed_units":{"input_tokens":3,"output_tokens":1},
        "tokens":{"input_tokens":9,"output_tokens":1}}})");
  });
  auto embedder = Embedder("cohere", server);
  ASSERT_NE(embedder, nullptr);
  auto e = embedder->Embed({.inputs = {{.text = "a"}, {.text = "b"}},
                            .input_type = EmbedInputType::kQuery},
                           CallContext::WithTimeout(5s));
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  EXPECT_EQ(e->embeddings[1], (std::vector<float>{0.3f, 0.4f}));
  EXPECT_EQ(e->prompt_tokens, 4);
  auto reranker = Reranker("cohere", server);
  auto r = reranker->Rerank({.query = "q", .documents = {"d0", "d1"}}, CallContext::WithTimeout(5s));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->scores, (std::vector<float>{0.1f, 0.9f}));
  auto chat = std::dynamic_pointer_cast<GeneratorModel>(
      Load("cohere", server.url(), Task::kGenerate, "command-r"));
  GenerateRequest request;
  request.messages = {{"user", "hello"}};
  request.max_tokens = 2;
  auto whole = chat->Generate(request, nullptr, CallContext::WithTimeout(5s));
  ASSERT_TRUE(whole.ok()) << whole.error().ToString();
  EXPECT_EQ(whole->text, "Salut");
  EXPECT_EQ(whole->completion_tokens, 1);
  EXPECT_EQ(whole->prompt_tokens, 9);
  std::string pieces;
  auto streamed = chat->Generate(request, [&](std::string_view p) { pieces += p; return true; },
                                 CallContext::WithTimeout(5s));
  ASSERT_TRUE(streamed.ok()) << streamed.error().ToString();
  EXPECT_EQ(pieces, "Bonjour");
  EXPECT_EQ(streamed->finish_reason, FinishReason::kLength);

  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].Header("authorization"), "Bearer key-abc");
  EXPECT_EQ(Json::parse(seen[0].body), Json::parse(R"({"model":"emb-1","texts":["a","b"],
      "input_type":"search_query","embedding_types":["float"]})"));
  EXPECT_EQ(Json::parse(seen[1].body), Json::parse(R"({"model":"rr-1","query":"q",
      "documents":["d0","d1"],"top_n":2})"));
  const Json chat_body = Json::parse(seen[2].body);
  EXPECT_EQ(seen[2].target, "/v2/chat");
  EXPECT_EQ(chat_body["messages"], Json::parse(R"([{"role":"user","content":"hello"}])"));
  EXPECT_EQ(chat_body["max_tokens"], 2);
  EXPECT_EQ(chat_body["stream"], false);
  EXPECT_EQ(chat_body["k"], 40);
}

TEST(WireFormatsTest, VoyageEmbeddingsAndRerank) {
  UpstreamServer server([](const UpstreamRequestSeen& r) {
    if (r.target == "/v1/embeddings") {
      return UpstreamReply::Json(200, R"({"object":"list","data":[{"object":"embedding",
          "embedding":[0.5,0.5],"index":0}],"model":"voyage-3","usage":{"total_tokens":2}})");
    }
    return UpstreamReply::Json(200, R"({"object":"list","data":[{"relevance_score":0.4,"index":0},
        {"relevance_score":0.7,"index":1}],"model":"rerank-2","usage":{"total_tokens":7}})");
  });
  auto e = Embedder("voyage", server, "/v1")->Embed(
      {.inputs = {{.text = "doc"}}, .input_type = EmbedInputType::kDocument},
      CallContext::WithTimeout(5s));
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  EXPECT_EQ(e->prompt_tokens, 2);
  auto r = Reranker("voyage", server, "/v1")->Rerank({.query = "q", .documents = {"a", "b"}},
                                                     CallContext::WithTimeout(5s));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->scores, (std::vector<float>{0.4f, 0.7f}));
  EXPECT_EQ(r->prompt_tokens, 7);
  const auto seen = server.requests();
  EXPECT_EQ(Json::parse(seen[0].body),
            Json::parse(R"({"model":"emb-1","input":["doc"],"input_type":"document"})"));
  EXPECT_EQ(seen[1].target, "/v1/rerank");
  EXPECT_EQ(Json::parse(seen[1].body),
            Json::parse(R"({"model":"rr-1","query":"q","documents":["a","b"],"top_k":2})"));
}

TEST(WireFormatsTest, JinaSendsTheRetrievalTask) {
  UpstreamServer server([](const UpstreamRequestSeen&) {
    return UpstreamReply::Json(200, R"({"model":"jina-embeddings-v3","object":"list","usage":
        {"total_tokens":3,"prompt_tokens":3},"data":[{"object":"embedding","index":0,"embedding":[1.0,0.0]}]})");
  });
  auto e = Embedder("jina", server, "/v1")->Embed(
      {.inputs = {{.text = "what is x"}}, .input_type = EmbedInputType::kQuery},
      CallContext::WithTimeout(5s));
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  EXPECT_EQ(Json::parse(server.requests()[0].body),
            Json::parse(R"({"model":"emb-1","input":["what is x"],"task":"retrieval.query"})"));
}

TEST(WireFormatsTest, TeiEmbedAndRerankWithBareListAnswers) {
  UpstreamServer server([](const UpstreamRequestSeen& r) {
    if (r.target == "/embed") return UpstreamReply::Json(200, "[[0.0,1.0],[1.0,0.0]]");
    if (r.target == "/rerank") {
      return UpstreamReply::Json(200, R"([{"index":1,"score":0.8},{"index":0,"score":0.2}])");
    }
    return UpstreamReply::Json(404, R"({"error":"no route","error_type":"Unknown"})");
  });
  auto e = Embedder("tei", server)->Embed({.inputs = {{.text = "x"}, {.text = "y"}},
                                           .normalize = true,
                                           .truncate = true},
                                          CallContext::WithTimeout(5s));
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  EXPECT_EQ(e->embeddings[0], (std::vector<float>{0.0f, 1.0f}));
  auto r = Reranker("tei", server)->Rerank({.query = "q", .documents = {"a", "b"}},
                                           CallContext::WithTimeout(5s));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->scores, (std::vector<float>{0.2f, 0.8f}));
  const auto seen = server.requests();
  EXPECT_EQ(Json::parse(seen[0].body),
            Json::parse(R"({"inputs":["x","y"],"normalize":true,"truncate":true})"));
  EXPECT_EQ(Json::parse(seen[1].body),
            Json::parse(R"({"query":"q","texts":["a","b"],"raw_scores":false})"));
}

TEST(WireFormatsTest, TeiErrorsKeepTheirMessageAndStatus) {
  UpstreamServer server([](const UpstreamRequestSeen&) {
    return UpstreamReply::Json(413, R"({"error":"batch size 64 > maximum allowed batch size 32","error_type":"Validation"})");
  });
  auto e = Embedder("tei", server)->Embed({.inputs = {{.text = "x"}}}, CallContext::WithTimeout(5s));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(e.error().message().find("maximum allowed batch size"), std::string::npos)
      << e.error().message();
}

TEST(WireFormatsTest, OllamaEmbedAndNdjsonChat) {
  UpstreamServer server([](const UpstreamRequestSeen& r) {
    if (r.target == "/api/embed") {
      return UpstreamReply::Json(200, R"({"model":"nomic","embeddings":[[0.25,0.75]],"prompt_eval_count":5})");
    }
    UpstreamReply reply;
    reply.headers = {{"Content-Type", "application/x-ndjson"}};
    reply.chunks = {
        "{\"model\":\"llama3\",\"created_at\":\"2024-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":false}\n",
        "{\"model\":\"llama3\",\"created_at\":\"2024-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":\" you\"},\"done\":false}\n{\"model\":\"llama3\",",
        "\"created_at\":\"2024-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"length\",\"prompt_eval_count\":11,\"eval_count\":2}\n"};
    return reply;
  });
  auto e = Embedder("ollama", server)->Embed({.inputs = {{.text = "x"}}}, CallContext::WithTimeout(5s));
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  EXPECT_EQ(e->prompt_tokens, 5);
  auto chat = std::dynamic_pointer_cast<GeneratorModel>(
      Load("ollama", server.url(), Task::kGenerate, "llama3"));
  GenerateRequest request;
  request.messages = {{"user", "hi"}};
  request.sampling.seed = 4;
  request.max_tokens = 2;
  std::string pieces;
  auto r = chat->Generate(request, [&](std::string_view p) { pieces += p; return true; },
                          CallContext::WithTimeout(5s));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(pieces, "Hi you");
  EXPECT_EQ(r->finish_reason, FinishReason::kLength);
  EXPECT_EQ(r->prompt_tokens, 11);
  EXPECT_EQ(r->completion_tokens, 2);
  const auto seen = server.requests();
  EXPECT_EQ(Json::parse(seen[0].body), Json::parse(R"({"model":"emb-1","input":["x"]})"));
  const Json body = Json::parse(seen[1].body);
  EXPECT_EQ(seen[1].target, "/api/chat");
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["options"]["num_predict"], 2);
  EXPECT_EQ(body["options"]["seed"], 4);
  EXPECT_EQ(body["options"]["top_k"], 40);
}

TEST(WireFormatsTest, OllamaErrorLineUnderStatus200IsAnError) {
  UpstreamServer server([](const UpstreamRequestSeen&) {
    UpstreamReply reply;
    reply.chunks = {"{\"message\":{\"content\":\"a\"},\"done\":false}\n",
                    "{\"error\":\"model runner has unexpectedly stopped\"}\n"};
    return reply;
  });
  auto chat = std::dynamic_pointer_cast<GeneratorModel>(
      Load("ollama", server.url(), Task::kGenerate, "llama3"));
  GenerateRequest request;
  request.prompt = "hi";
  auto r = chat->Generate(request, [](std::string_view) { return true; },
                          CallContext::WithTimeout(5s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), StatusCode::kUpstreamFailed);
  EXPECT_NE(r.error().message().find("unexpectedly stopped"), std::string::npos);
  EXPECT_EQ(server.requests()[0].target, "/api/generate");
}

TEST(WireFormatsTest, GeminiGenerateStreamAndBatchEmbed) {
  UpstreamServer server([](const UpstreamRequestSeen& r) {
    if (r.target.find(":batchEmbedContents") != std::string::npos) {
      return UpstreamReply::Json(200, R"({"embeddings":[{"values":[0.1,0.2,0.3]},{"values":[0.4,0.5,0.6]}]})");
    }
    if (r.target.find(":streamGenerateContent") != std::string::npos) {
      return UpstreamReply::Sse(
          {"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Once\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 6,\"totalTokenCount\": 6}}\r\n\r\n",
           "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" upon\"}],\"role\": \"model\"},\"finishReason\": \"MAX_TOKENS\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 6,\"candidatesTokenCount\": 2,\"totalTokenCount\": 8}}\r\n\r\n"});
    }
    return UpstreamReply::Json(200, R"({"candidates":[{"content":{"parts":[{"text":"Hello"},{"text":" there"}],
        "role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":4,
        "candidatesTokenCount":2,"totalTokenCount":6},"modelVersion":"gemini-x"})");
  });
  auto embedder = std::dynamic_pointer_cast<EmbeddingModel>(
      Load("gemini", server.url() + "/v1beta", Task::kEmbed, "text-embedding-004"));
  auto e = embedder->Embed({.inputs = {{.text = "a"}, {.text = "b"}},
                            .input_type = EmbedInputType::kDocument},
                           CallContext::WithTimeout(5s));
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  EXPECT_EQ(e->embeddings[1], (std::vector<float>{0.4f, 0.5f, 0.6f}));
  auto chat = std::dynamic_pointer_cast<GeneratorModel>(
      Load("gemini", server.url() + "/v1beta", Task::kGenerate, "gemini-x"));
  GenerateRequest request;
  request.messages = {{"system", "Be kind."}, {"user", "Hi"}, {"assistant", "Hey"}, {"user", "Go"}};
  request.sampling.temperature = 1;
  request.sampling.top_p = 1;
  request.max_tokens = 2;
  auto whole = chat->Generate(request, nullptr, CallContext::WithTimeout(5s));
  ASSERT_TRUE(whole.ok()) << whole.error().ToString();
  EXPECT_EQ(whole->text, "Hello there");
  EXPECT_EQ(whole->finish_reason, FinishReason::kStop);
  EXPECT_EQ(whole->completion_tokens, 2);
  std::string pieces;
  auto streamed = chat->Generate(request, [&](std::string_view p) { pieces += p; return true; },
                                 CallContext::WithTimeout(5s));
  ASSERT_TRUE(streamed.ok()) << streamed.error().ToString();
  EXPECT_EQ(pieces, "Once upon");
  EXPECT_EQ(streamed->finish_reason, FinishReason::kLength);
  EXPECT_EQ(streamed->prompt_tokens, 6);

  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].target, "/v1beta/models/text-embedding-004:batchEmbedContents");
  EXPECT_EQ(seen[0].Header("x-goog-api-key"), "key-abc");
  EXPECT_EQ(Json::parse(seen[0].body), Json::parse(R"({"requests":[
      {"model":"models/text-embedding-004","content":{"parts":[{"text":"a"}]},"taskType":"RETRIEVAL_DOCUMENT"},
      {"model":"models/text-embedding-004","content":{"parts":[{"text":"b"}]},"taskType":"RETRIEVAL_DOCUMENT"}]})"));
  EXPECT_EQ(seen[1].target, "/v1beta/models/gemini-x:generateContent");
  EXPECT_EQ(Json::parse(seen[1].body), Json::parse(R"({"contents":[
      {"role":"user","parts":[{"text":"Hi"}]},{"role":"model","parts":[{"text":"Hey"}]},
      {"role":"user","parts":[{"text":"Go"}]}],
      "systemInstruction":{"parts":[{"text":"Be kind."}]},
      "generationConfig":{"temperature":1.0,"topP":1.0,"topK":40,"maxOutputTokens":2}})"));
  EXPECT_EQ(seen[2].target, "/v1beta/models/gemini-x:streamGenerateContent?alt=sse");
}

TEST(WireFormatsTest, GeminiRetryInfoIsHonoured) {
  std::atomic<int> calls{0};
  UpstreamServer server([&](const UpstreamRequestSeen&) {
    if (++calls == 1) {
      return UpstreamReply::Json(429, R"({"error":{"code":429,"message":"Resource has been exhausted",
          "status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo",
          "retryDelay":"1s"}]}})");
    }
    return UpstreamReply::Json(200, R"({"embeddings":[{"values":[1.0]}]})");
  });
  auto embedder = std::dynamic_pointer_cast<EmbeddingModel>(
      Load("gemini", server.url(), Task::kEmbed, "text-embedding-004"));
  const auto start = Clock::now();
  auto e = embedder->Embed({.inputs = {{.text = "a"}}}, CallContext::WithTimeout(10s));
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  EXPECT_GE(Clock::now() - start, 900ms);
  EXPECT_EQ(calls.load(), 2);
}

}  // namespace
}  // namespace modelrt
