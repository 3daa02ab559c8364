// Tool calls on the local llama engine through the pinned llama.cpp's chat support: random-weight
// llama models whose GGUF carries a real template with tool support (the pin's
// models/templates/), so the prompt, the call grammar and the reply parser are the template's.
// Even a model that knows nothing writes a valid call when one is required; a call round-trips
// (call -> tool result -> answer); streamed content reassembles to the whole reply.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/json.h"
#include "providers/llama/llama_generator.h"
#include "support/llama_test_models.h"

namespace modelrt::llama {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<GeneratorModel> Generator(const std::string& path, std::string chat_template = "") {
  ModelSpec spec;
  spec.alias = "tools";
  spec.task = Task::kGenerate;
  spec.model = path;
  LlamaModelOptions options;
  options.ctx = 2048;
  options.parallel = 2;
  options.threads = 1;
  options.chat_template = std::move(chat_template);
  auto generator = CreateLlamaGenerator(spec, options, CallContext{});
  if (!generator.ok()) ADD_FAILURE() << generator.error().ToString();
  return generator.ok() ? *generator : nullptr;
}

ToolSpec Weather() {
  return {"get_weather", "The weather in a city",
          R"({"type":"object","properties":{"city":{"enum":["Paris","Tokyo","Lima"]},)"
          R"("days":{"type":"integer","minimum":1,"maximum":7}},"required":["city","days"],)"
          R"("additionalProperties":false})"};
}

ToolSpec Time() {
  return {"get_time", "The time in a time zone",
          R"({"type":"object","properties":{"zone":{"enum":["UTC","CET"]}},"required":["zone"],)"
          R"("additionalProperties":false})"};
}

GenerateRequest Ask(uint32_t seed) {
  GenerateRequest r;
  r.messages = {{.role = "user", .content = "What is the weather in Paris this week?"}};
  r.tools = {Weather(), Time()};
  r.tool_choice = ToolChoice::kRequired;
  r.sampling.temperature = 1.0f;
  r.sampling.seed = seed;
  r.max_tokens = 300;
  return r;
}

// The arguments follow Weather()'s schema.
void ExpectWeatherArguments(const ToolCall& call) {
  Json args = Json::parse(call.arguments, nullptr, false);
  ASSERT_TRUE(args.is_object()) << call.arguments;
  EXPECT_EQ(args.size(), 2u) << call.arguments;
  EXPECT_THAT((std::vector<std::string>{"Paris", "Tokyo", "Lima"}),
              ::testing::Contains(args.value("city", "")))
      << call.arguments;
  ASSERT_TRUE(args["days"].is_number_integer()) << call.arguments;
  EXPECT_GE(args["days"].get<int>(), 1);
  EXPECT_LE(args["days"].get<int>(), 7);
}

class ToolTemplates : public ::testing::TestWithParam<std::string> {};

TEST_P(ToolTemplates, RequiredToolChoiceAlwaysYieldsAValidCall) {
  auto gen = Generator(testing::TestChatModel(GetParam()));
  ASSERT_TRUE(gen);
  std::set<std::string> distinct;
  for (uint32_t seed = 0; seed < 12; ++seed) {
    GenerateRequest r = Ask(seed);
    r.tools = {Weather()};
    auto result = gen->Generate(r, nullptr, CallContext{});
    ASSERT_TRUE(result.ok()) << result.error().ToString();
    ASSERT_FALSE(result->tool_calls.empty()) << "seed " << seed << ": " << result->text
                                             << " (reasoning: " << result->reasoning_content << ")";
    EXPECT_EQ(result->finish_reason, FinishReason::kToolCalls);
    for (const ToolCall& call : result->tool_calls) {
      EXPECT_EQ(call.name, "get_weather");
      EXPECT_EQ(call.id.rfind("call_", 0), 0u) << call.id;
      ExpectWeatherArguments(call);
      distinct.insert(call.arguments);
    }
  }
  EXPECT_GT(distinct.size(), 3u);  // still sampled: the grammar narrows, it does not decide
}

TEST_P(ToolTemplates, NamedToolChoiceCallsThatFunction) {
  auto gen = Generator(testing::TestChatModel(GetParam()));
  ASSERT_TRUE(gen);
  for (uint32_t seed = 0; seed < 5; ++seed) {
    GenerateRequest r = Ask(seed);
    r.tool_choice = ToolChoice::kNamed;
    r.tool_name = "get_time";
    auto result = gen->Generate(r, nullptr, CallContext{});
    ASSERT_TRUE(result.ok()) << result.error().ToString();
    ASSERT_FALSE(result->tool_calls.empty()) << result->text;
    for (const ToolCall& call : result->tool_calls) {
      EXPECT_EQ(call.name, "get_time");
      Json args = Json::parse(call.arguments, nullptr, false);
      EXPECT_TRUE(args["zone"] == "UTC" || args["zone"] == "CET") << call.arguments;
    }
  }
}

TEST_P(ToolTemplates, ACallRoundTripsThroughTheTemplate) {
  auto gen = Generator(testing::TestChatModel(GetParam()));
  ASSERT_TRUE(gen);
  auto first = gen->Generate(Ask(7), nullptr, CallContext{});
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  ASSERT_FALSE(first->tool_calls.empty());
  const ToolCall call = first->tool_calls[0];

  GenerateRequest next = Ask(7);
  next.tool_choice = ToolChoice::kAuto;
  ChatMessage assistant;
  assistant.role = "assistant";
  assistant.content = first->text;
  assistant.tool_calls = {call};
  ChatMessage result;
  result.role = "tool";
  result.content = "sunny, 21 degrees";
  result.tool_call_id = call.id;
  result.name = call.name;
  next.messages.push_back(assistant);
  next.messages.push_back(result);
  next.max_tokens = 24;
  // The template wrote the call and its result into the prompt.
  auto prompt = gen->RenderPrompt(next);
  ASSERT_TRUE(prompt.ok()) << prompt.error().ToString();
  EXPECT_THAT(*prompt, HasSubstr("sunny, 21 degrees"));
  EXPECT_THAT(*prompt, HasSubstr(call.name));
  auto answer = gen->Generate(next, nullptr, CallContext{});
  ASSERT_TRUE(answer.ok()) << answer.error().ToString();
  EXPECT_GT(answer->completion_tokens, 0);
}

TEST_P(ToolTemplates, StreamedContentIsTheWholeReplysContent) {
  auto gen = Generator(testing::TestChatModel(GetParam()));
  ASSERT_TRUE(gen);
  for (uint32_t seed = 0; seed < 4; ++seed) {
    GenerateRequest r = Ask(seed);
    r.tool_choice = seed % 2 ? ToolChoice::kAuto : ToolChoice::kRequired;
    r.max_tokens = 60;
    std::string streamed;
    auto result = gen->Generate(r, [&](std::string_view piece) {
      streamed += piece;
      return true;
    }, CallContext{});
    ASSERT_TRUE(result.ok()) << result.error().ToString();
    auto whole = gen->Generate(r, nullptr, CallContext{});
    ASSERT_TRUE(whole.ok());
    EXPECT_EQ(streamed, result->text);
    // Seeded: the same reply whether streamed or not.
    EXPECT_EQ(whole->text, result->text);
    ASSERT_EQ(whole->tool_calls.size(), result->tool_calls.size());
    for (size_t i = 0; i < whole->tool_calls.size(); ++i)
      EXPECT_EQ(whole->tool_calls[i].arguments, result->tool_calls[i].arguments);
    // The call's syntax never reaches the content.
    EXPECT_THAT(streamed, ::testing::Not(HasSubstr("\"arguments\"")));
  }
}

// Four template families: Qwen 2.5 and Hermes 2 Pro (<tool_call> JSON), Llama 3.1 (bare JSON
// calls) and Qwen 3 (thinking). Mistral Nemo is left out: its call grammar has the model write
// each call's id as a free string, which a random-weight model never closes.
INSTANTIATE_TEST_SUITE_P(Pinned, ToolTemplates,
                         ::testing::Values("Qwen-Qwen2.5-7B-Instruct",
                                           "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use",
                                           "meta-llama-Llama-3.1-8B-Instruct",
                                           "Qwen-Qwen3-0.6B"),
                         [](const auto& info) {
                           std::string name = info.param.substr(0, info.param.find('-'));
                           return name + std::to_string(info.index);
                         });

TEST(ToolErrorsTest, ToolsNeedATemplateThatRendersThem) {
  // stories260K has no chat template: its chats are plain transcripts, which cannot call.
  auto gen = Generator(MODELRT_SOURCE_DIR "/models/stories260K.gguf");
  ASSERT_TRUE(gen);
  auto result = gen->Generate(Ask(1), nullptr, CallContext{});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(result.error().message(), HasSubstr("tools"));
}

TEST(ToolErrorsTest, UnknownNamedToolIsInvalid) {
  auto gen = Generator(testing::TestChatModel("Qwen-Qwen2.5-7B-Instruct"));
  ASSERT_TRUE(gen);
  GenerateRequest r = Ask(1);
  r.tool_choice = ToolChoice::kNamed;
  r.tool_name = "get_nothing";
  auto result = gen->Generate(r, nullptr, CallContext{});
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message(), HasSubstr("get_nothing"));
}

TEST(ToolErrorsTest, NoToolChoiceMeansPlainContent) {
  auto gen = Generator(testing::TestChatModel("Qwen-Qwen2.5-7B-Instruct"));
  ASSERT_TRUE(gen);
  GenerateRequest r = Ask(3);
  r.tool_choice = ToolChoice::kNone;
  r.max_tokens = 16;
  auto result = gen->Generate(r, nullptr, CallContext{});
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_TRUE(result->tool_calls.empty());
  EXPECT_NE(result->finish_reason, FinishReason::kToolCalls);
  auto prompt = gen->RenderPrompt(r);
  ASSERT_TRUE(prompt.ok());
  // The tools are still shown to the model, as llama-server does; only calls are off.
  EXPECT_THAT(*prompt, HasSubstr("get_weather"));
}

}  // namespace
}  // namespace modelrt::llama
