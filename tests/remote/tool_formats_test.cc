// Function calling through each wire format that has it, against a local server that speaks the
// provider's documented shapes: the tools, the tool choice, an earlier call and its result as
// the provider wants them sent, and calls read back from whole answers and from streams whose
// arguments arrive in fragments. (OpenAI's shape is also tested against real servers in
// openai_llama_server_test.cc.)
#include <gtest/gtest.h>

#include "core/json.h"
#include "modelrt/provider.h"
#include "support/upstream_server.h"

namespace modelrt {
namespace {

using namespace std::chrono_literals;
using testing::UpstreamReply;
using testing::UpstreamRequestSeen;
using testing::UpstreamServer;

constexpr const char* kWeatherSchema =
    R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})";

std::shared_ptr<GeneratorModel> Chat(const std::string& type, const std::string& base_url,
                                     const std::string& model) {
  auto provider = CreateProvider({.id = "p",
                                  .type = type,
                                  .base_url = base_url,
                                  .options = *Options::Parse(R"({"probe": false, "max_retries": 0})")});
  EXPECT_TRUE(provider.ok()) << provider.error().ToString();
  if (!provider.ok()) return nullptr;
  ModelSpec spec;
  spec.alias = "a";
  spec.task = Task::kGenerate;
  spec.provider = "p";
  spec.model = model;
  auto loaded = (*provider)->Load(spec, CallContext::WithTimeout(5s));
  EXPECT_TRUE(loaded.ok()) << loaded.error().ToString();
  return loaded.ok() ? std::dynamic_pointer_cast<GeneratorModel>(*loaded) : nullptr;
}

// A conversation where the model called get_weather and got its result; the upstream is asked
// again with two tools on offer.
GenerateRequest AfterAToolResult(ToolChoice choice) {
  GenerateRequest r;
  ChatMessage asked{.role = "user", .content = "Weather in Paris?"};
  ChatMessage called{.role = "assistant"};
  called.tool_calls = {{.id = "call_1", .name = "get_weather", .arguments = R"({"city":"Paris"})"}};
  ChatMessage result{.role = "tool", .content = R"({"temp":21})", .tool_call_id = "call_1"};
  r.messages = {asked, called, result};
  r.tools = {{"get_weather", "The weather in a city", kWeatherSchema}, {"get_time", "", R"({"type":"object"})"}};
  r.tool_choice = choice;
  r.parallel_tool_calls = false;
  r.sampling.temperature = 0.5f;
  r.sampling.top_p = 1;
  r.max_tokens = 50;
  return r;
}

Json ExpectedArguments(const ToolCall& call) { return Json::parse(call.arguments, nullptr, false); }

struct Answers {
  Result<GenerateResult> whole;
  Result<GenerateResult> streamed;
  std::string streamed_text;
};

Answers AskTwice(GeneratorModel& chat, const GenerateRequest& request) {
  Answers a{.whole = chat.Generate(request, nullptr, CallContext::WithTimeout(5s)),
            .streamed = InternalError("not run")};
  a.streamed = chat.Generate(request, [&](std::string_view p) { a.streamed_text += p; return true; },
                             CallContext::WithTimeout(5s));
  return a;
}

void ExpectOneTimeCall(const Result<GenerateResult>& r, const std::string& id_prefix) {
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ASSERT_EQ(r->tool_calls.size(), 1u) << r->text;
  EXPECT_EQ(r->tool_calls[0].name, "get_time");
  EXPECT_EQ(r->tool_calls[0].id.rfind(id_prefix, 0), 0u) << r->tool_calls[0].id;
  EXPECT_EQ(ExpectedArguments(r->tool_calls[0]), Json::parse(R"({"zone":"CET"})"))
      << r->tool_calls[0].arguments;
  EXPECT_EQ(r->finish_reason, FinishReason::kToolCalls);
}

TEST(ToolFormatsTest, OpenAiToolCallDeltasInFragments) {
  // The stream as OpenAI documents it: the call's id and name first, then its arguments in
  // pieces, then finish_reason "tool_calls".
  const std::string head = R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt","choices":[{"index":0,)";
  UpstreamServer server([&](const UpstreamRequestSeen& r) {
    if (Json::parse(r.body).value("stream", false)) {
      return UpstreamReply::Sse(
          {"data: " + head + R"("delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_abc","type":"function","function":{"name":"get_time","arguments":""}}]},"logprobs":null,"finish_reason":null}]})" "\n\n",
           "data: " + head + R"("delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"zo"}}]},"logprobs":null,"finish_reason":null}]})" "\n\n",
           "data: " + head + R"("delta":{"tool_calls":[{"index":0,"function":{"arguments":"ne\":\"CET\"}"}}]},"logprobs":null,"finish_reason":null}]})" "\n\n",
           "data: " + head + R"("delta":{},"logprobs":null,"finish_reason":"tool_calls"}]})" "\n\n",
           "data: [DONE]\n\n"});
    }
    return UpstreamReply::Json(200, R"({"id":"chatcmpl-2","object":"chat.completion","choices":[{"index":0,
        "message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_abc","type":"function",
        "function":{"name":"get_time","arguments":"{\"zone\":\"CET\"}"}}]},"finish_reason":"tool_calls"}],
        "usage":{"prompt_tokens":40,"completion_tokens":9,"total_tokens":49}})");
  });
  auto chat = Chat("openai", server.url(), "gpt");
  ASSERT_NE(chat, nullptr);
  Answers a = AskTwice(*chat, AfterAToolResult(ToolChoice::kRequired));
  ExpectOneTimeCall(a.whole, "call_abc");
  ExpectOneTimeCall(a.streamed, "call_abc");
  EXPECT_EQ(a.streamed_text, "");
  const Json body = Json::parse(server.requests()[0].body);
  EXPECT_EQ(body["messages"], Json::parse(R"([
      {"role":"user","content":"Weather in Paris?"},
      {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
      {"role":"tool","content":"{\"temp\":21}","tool_call_id":"call_1"}])"));
  EXPECT_EQ(body["tools"][0], Json::parse(R"({"type":"function","function":{"name":"get_weather",
      "description":"The weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}})"));
  EXPECT_EQ(body["tool_choice"], "required");
  EXPECT_EQ(body["parallel_tool_calls"], false);
}

TEST(ToolFormatsTest, AnthropicToolUseBlocks) {
  const std::vector<std::string> events = {
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-x\",\"stop_reason\":null,\"usage\":{\"input_tokens\":30,\"output_tokens\":1}}}\n\n",
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Let me check.\"}}\n\n",
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01A\",\"name\":\"get_time\",\"input\":{}}}\n\n",
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n",
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"zone\\\": \\\"C\"}}\n\n",
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"ET\\\"}\"}}\n\n",
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
      "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":12}}\n\n",
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"};
  UpstreamServer server([&](const UpstreamRequestSeen& r) {
    if (Json::parse(r.body).value("stream", false)) return UpstreamReply::Sse(events);
    return UpstreamReply::Json(200, R"({"id":"msg_2","type":"message","role":"assistant","model":"claude-x",
        "content":[{"type":"text","text":"Let me check."},
                   {"type":"tool_use","id":"toolu_01A","name":"get_time","input":{"zone":"CET"}}],
        "stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":30,"output_tokens":12}})");
  });
  auto chat = Chat("anthropic", server.url(), "claude-x");
  ASSERT_NE(chat, nullptr);
  const GenerateRequest request = AfterAToolResult(ToolChoice::kRequired);
  Answers a = AskTwice(*chat, request);
  ExpectOneTimeCall(a.whole, "toolu_01A");
  ExpectOneTimeCall(a.streamed, "toolu_01A");
  EXPECT_EQ(a.whole->text, "Let me check.");
  EXPECT_EQ(a.streamed_text, "Let me check.");

  Json expected = Json::parse(R"({"model":"claude-x","max_tokens":50,"messages":[
      {"role":"user","content":"Weather in Paris?"},
      {"role":"assistant","content":[{"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":"{\"temp\":21}"}]}],
      "tools":[{"name":"get_weather","description":"The weather in a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},
               {"name":"get_time","input_schema":{"type":"object"}}],
      "tool_choice":{"type":"any","disable_parallel_tool_use":true}})");
  expected["temperature"] = request.sampling.temperature;
  EXPECT_EQ(Json::parse(server.requests()[0].body), expected);
}

TEST(ToolFormatsTest, AnthropicNamedAndNoneChoices) {
  UpstreamServer server([](const UpstreamRequestSeen&) {
    return UpstreamReply::Json(200, R"({"content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn"})");
  });
  auto chat = Chat("anthropic", server.url(), "claude-x");
  ASSERT_NE(chat, nullptr);
  GenerateRequest named = AfterAToolResult(ToolChoice::kNamed);
  named.tool_name = "get_time";
  named.parallel_tool_calls = true;
  ASSERT_TRUE(chat->Generate(named, nullptr, CallContext::WithTimeout(5s)).ok());
  GenerateRequest none = AfterAToolResult(ToolChoice::kNone);
  ASSERT_TRUE(chat->Generate(none, nullptr, CallContext::WithTimeout(5s)).ok());
  const auto seen = server.requests();
  EXPECT_EQ(Json::parse(seen[0].body)["tool_choice"], Json::parse(R"({"type":"tool","name":"get_time"})"));
  EXPECT_EQ(Json::parse(seen[1].body)["tool_choice"], Json::parse(R"({"type":"none"})"));
}

TEST(ToolFormatsTest, GeminiFunctionCallParts) {
  UpstreamServer server([](const UpstreamRequestSeen& r) {
    if (r.target.find(":streamGenerateContent") != std::string::npos) {
      return UpstreamReply::Sse(
          {"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Checking\"}],\"role\": \"model\"},\"index\": 0}]}\r\n\r\n",
           "data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"get_time\",\"args\": {\"zone\": \"CET\"}}}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 40,\"candidatesTokenCount\": 5}}\r\n\r\n"});
    }
    // Two calls where the caller wanted one (Gemini has no switch for parallel calls).
    return UpstreamReply::Json(200, R"({"candidates":[{"content":{"parts":[
        {"functionCall":{"name":"get_time","args":{"zone":"CET"}}},
        {"functionCall":{"name":"get_weather","args":{"city":"Lima"}}}],"role":"model"},
        "finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":40,"candidatesTokenCount":9}})");
  });
  auto chat = Chat("gemini", server.url() + "/v1beta", "gemini-x");
  ASSERT_NE(chat, nullptr);
  Answers a = AskTwice(*chat, AfterAToolResult(ToolChoice::kRequired));
  ExpectOneTimeCall(a.whole, "call_");
  ExpectOneTimeCall(a.streamed, "call_");
  EXPECT_EQ(a.streamed_text, "Checking");
  EXPECT_EQ(Json::parse(server.requests()[0].body), Json::parse(R"({"contents":[
      {"role":"user","parts":[{"text":"Weather in Paris?"}]},
      {"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}]},
      {"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"temp":21}}}]}],
      "generationConfig":{"temperature":0.5,"topP":1.0,"topK":40,"maxOutputTokens":50},
      "tools":[{"functionDeclarations":[
          {"name":"get_weather","description":"The weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},
          {"name":"get_time","parameters":{"type":"object"}}]}],
      "toolConfig":{"functionCallingConfig":{"mode":"ANY"}}})"));

  GenerateRequest named = AfterAToolResult(ToolChoice::kNamed);
  named.tool_name = "get_time";
  ASSERT_TRUE(chat->Generate(named, nullptr, CallContext::WithTimeout(5s)).ok());
  EXPECT_EQ(Json::parse(server.requests()[2].body)["toolConfig"],
            Json::parse(R"({"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_time"]}})"));
}

TEST(ToolFormatsTest, OllamaToolCallsWithObjectArguments) {
  UpstreamServer server([](const UpstreamRequestSeen& r) {
    if (Json::parse(r.body)["stream"] == true) {
      UpstreamReply reply;
      reply.headers = {{"Content-Type", "application/x-ndjson"}};
      reply.chunks = {
          "{\"model\":\"llama3.2\",\"created_at\":\"2025-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"get_time\",\"arguments\":{\"zone\":\"CET\"}}}]},\"done\":false}\n",
          "{\"model\":\"llama3.2\",\"created_at\":\"2025-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done_reason\":\"stop\",\"done\":true,\"prompt_eval_count\":40,\"eval_count\":9}\n"};
      return reply;
    }
    return UpstreamReply::Json(200, R"({"model":"llama3.2","created_at":"2025-01-01T00:00:00Z",
        "message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_time","arguments":{"zone":"CET"}}}]},
        "done_reason":"stop","done":true,"prompt_eval_count":40,"eval_count":9})");
  });
  auto chat = Chat("ollama", server.url(), "llama3.2");
  ASSERT_NE(chat, nullptr);
  Answers a = AskTwice(*chat, AfterAToolResult(ToolChoice::kAuto));
  ExpectOneTimeCall(a.whole, "call_");
  ExpectOneTimeCall(a.streamed, "call_");
  const Json body = Json::parse(server.requests()[0].body);
  EXPECT_EQ(body["messages"], Json::parse(R"([
      {"role":"user","content":"Weather in Paris?"},
      {"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},
      {"role":"tool","content":"{\"temp\":21}","tool_name":"get_weather"}])"));
  EXPECT_EQ(body["tools"], Json::parse(R"([
      {"type":"function","function":{"name":"get_weather","description":"The weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
      {"type":"function","function":{"name":"get_time","parameters":{"type":"object"}}}])"));
  EXPECT_FALSE(body.contains("tool_choice"));
}

TEST(ToolFormatsTest, CohereToolPlanAndCalls) {
  UpstreamServer server([](const UpstreamRequestSeen& r) {
    if (Json::parse(r.body)["stream"] == true) {
      return UpstreamReply::Sse(
          {"event: message-start\ndata: {\"id\":\"c1\",\"type\":\"message-start\",\"delta\":{\"message\":{\"role\":\"assistant\"}}}\n\n",
           "event: tool-plan-delta\ndata: {\"type\":\"tool-plan-delta\",\"delta\":{\"message\":{\"tool_plan\":\"I will check\"}}}\n\n",
           "event: tool-plan-delta\ndata: {\"type\":\"tool-plan-delta\",\"delta\":{\"message\":{\"tool_plan\":\" the time.\"}}}\n\n",
           "event: tool-call-start\ndata: {\"type\":\"tool-call-start\",\"index\":0,\"delta\":{\"message\":{\"tool_calls\":{\"id\":\"get_time_abc\",\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"\"}}}}}\n\n",
           "event: tool-call-delta\ndata: {\"type\":\"tool-call-delta\",\"index\":0,\"delta\":{\"message\":{\"tool_calls\":{\"function\":{\"arguments\":\"{\\\"zone\\\":\"}}}}}\n\n",
           "event: tool-call-delta\ndata: {\"type\":\"tool-call-delta\",\"index\":0,\"delta\":{\"message\":{\"tool_calls\":{\"function\":{\"arguments\":\"\\\"CET\\\"}\"}}}}}\n\n",
           "event: tool-call-end\ndata: {\"type\":\"tool-call-end\",\"index\":0}\n\n",
           "event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"TOOL_CALL\",\"usage\":{\"tokens\":{\"input_tokens\":40,\"output_tokens\":9}}}}\n\n"});
    }
    return UpstreamReply::Json(200, R"({"id":"c2","finish_reason":"TOOL_CALL","message":{"role":"assistant",
        "tool_plan":"I will check the time.","tool_calls":[{"id":"get_time_abc","type":"function",
        "function":{"name":"get_time","arguments":"{\"zone\":\"CET\"}"}}]},
        "usage":{"tokens":{"input_tokens":40,"output_tokens":9}}})");
  });
  auto chat = Chat("cohere", server.url(), "command-r");
  ASSERT_NE(chat, nullptr);
  GenerateRequest request = AfterAToolResult(ToolChoice::kNamed);
  request.tool_name = "get_time";
  Answers a = AskTwice(*chat, request);
  ExpectOneTimeCall(a.whole, "get_time_abc");
  ExpectOneTimeCall(a.streamed, "get_time_abc");
  EXPECT_EQ(a.whole->reasoning_content, "I will check the time.");
  EXPECT_EQ(a.streamed->reasoning_content, "I will check the time.");
  const Json body = Json::parse(server.requests()[0].body);
  EXPECT_EQ(body["messages"], Json::parse(R"([
      {"role":"user","content":"Weather in Paris?"},
      {"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
      {"role":"tool","content":"{\"temp\":21}","tool_call_id":"call_1"}])"));
  // No named choice in Cohere's API: the named function alone, required.
  EXPECT_EQ(body["tools"], Json::parse(R"([{"type":"function","function":{"name":"get_time","parameters":{"type":"object"}}}])"));
  EXPECT_EQ(body["tool_choice"], "REQUIRED");
}

TEST(ToolFormatsTest, ArgumentsThatAreNotAnObjectAreRefusedWhereAnObjectIsSent) {
  UpstreamServer server([](const UpstreamRequestSeen&) { return UpstreamReply::Json(200, "{}"); });
  GenerateRequest request = AfterAToolResult(ToolChoice::kAuto);
  request.messages[1].tool_calls[0].arguments = "[1, 2";
  for (const char* type : {"anthropic", "ollama"}) {
    auto chat = Chat(type, server.url(), "m");
    ASSERT_NE(chat, nullptr);
    auto r = chat->Generate(request, nullptr, CallContext::WithTimeout(5s));
    ASSERT_FALSE(r.ok()) << type;
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument) << type;
    EXPECT_NE(r.error().message().find("call_1"), std::string::npos) << r.error().message();
  }
  EXPECT_TRUE(server.requests().empty());
}

}  // namespace
}  // namespace modelrt
