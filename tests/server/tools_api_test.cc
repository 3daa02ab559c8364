// Tool calls, logprobs, penalties and the tokenizer endpoints over the real server: a random
// llama whose GGUF carries Qwen 2.5's template (tool support), and stories260K. Responses and
// streams have OpenAI's shapes; what cannot be honoured is a 400 naming the field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/http_test_client.h"
#include "server/test_server.h"

namespace modelrt::testing {
namespace {

using ::testing::HasSubstr;

const Json kWeather = {
    {"type", "function"},
    {"function",
     {{"name", "get_weather"},
      {"description", "The weather in a city"},
      {"parameters",
       {{"type", "object"},
        {"properties", {{"city", {{"enum", {"Paris", "Tokyo"}}}}}},
        {"required", {"city"}},
        {"additionalProperties", false}}}}}};

Json ToolChat(Json extra = Json::object()) {
  Json body = {{"model", "tools"},
               {"messages", {{{"role", "user"}, {"content", "Weather in Paris?"}}}},
               {"tools", {kWeather}},
               {"tool_choice", "required"},
               {"temperature", 1.0},
               {"seed", 3},
               {"max_tokens", 300}};
  body.update(extra);
  return body;
}

TEST(ToolsApiTest, RequiredCallHasOpenAisShapeAndRoundTrips) {
  TestServer server(ToolsConfig());
  HttpResult r = PostJson(server.port(), "/v1/chat/completions", ToolChat());
  ASSERT_EQ(r.status, 200) << r.body;
  Json body = Json::parse(r.body);
  const Json& choice = body["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  const Json& message = choice["message"];
  ASSERT_TRUE(message["tool_calls"].is_array()) << r.body;
  ASSERT_FALSE(message["tool_calls"].empty());
  const Json& call = message["tool_calls"][0];
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["function"]["name"], "get_weather");
  ASSERT_TRUE(call["id"].is_string());
  Json args = Json::parse(call["function"]["arguments"].get<std::string>());
  EXPECT_TRUE(args["city"] == "Paris" || args["city"] == "Tokyo") << args.dump();

  // The call and its result go back in; the model answers (auto: it may call again or talk).
  Json next = ToolChat({{"tool_choice", "auto"}, {"max_tokens", 16}});
  next["messages"].push_back(message);
  next["messages"].push_back(
      {{"role", "tool"}, {"tool_call_id", call["id"]}, {"content", "sunny, 21 degrees"}});
  HttpResult answer = PostJson(server.port(), "/v1/chat/completions", next);
  ASSERT_EQ(answer.status, 200) << answer.body;
  // /apply-template shows the prompt that answer was generated from.
  HttpResult prompt = PostJson(server.port(), "/apply-template", next);
  ASSERT_EQ(prompt.status, 200) << prompt.body;
  const std::string text = Json::parse(prompt.body)["prompt"];
  EXPECT_THAT(text, HasSubstr("sunny, 21 degrees"));
  EXPECT_THAT(text, HasSubstr("<tool_response>"));
  EXPECT_THAT(text, HasSubstr("get_weather"));
}

TEST(ToolsApiTest, StreamedToolCallDeltasReassembleToTheWholeResponse) {
  TestServer server(ToolsConfig());
  HttpResult whole = PostJson(server.port(), "/v1/chat/completions", ToolChat());
  ASSERT_EQ(whole.status, 200) << whole.body;
  const Json expected = Json::parse(whole.body)["choices"][0]["message"];
  HttpResult stream = PostJson(server.port(), "/v1/chat/completions", ToolChat({{"stream", true}}));
  ASSERT_EQ(stream.status, 200) << stream.body;
  std::string content;
  Json calls = Json::array();
  std::string finish;
  for (const std::string& data : SseData(stream.body)) {
    if (data == "[DONE]") break;
    Json chunk = Json::parse(data);
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    const Json& choice = chunk["choices"][0];
    const Json& delta = choice["delta"];
    if (delta.contains("content") && delta["content"].is_string()) content += delta["content"];
    if (delta.contains("tool_calls")) {
      for (const Json& d : delta["tool_calls"]) {
        const size_t index = d["index"];
        while (calls.size() <= index) calls.push_back({{"function", {{"name", ""}, {"arguments", ""}}}});
        if (d.contains("id")) calls[index]["id"] = d["id"];
        if (d["function"].contains("name")) calls[index]["function"]["name"] = d["function"]["name"];
        calls[index]["function"]["arguments"] =
            calls[index]["function"]["arguments"].get<std::string>() +
            d["function"].value("arguments", "");
      }
    }
    if (choice["finish_reason"].is_string()) finish = choice["finish_reason"];
  }
  EXPECT_EQ(finish, "tool_calls");
  EXPECT_EQ(content, expected["content"].is_null() ? "" : expected["content"].get<std::string>());
  ASSERT_EQ(calls.size(), expected["tool_calls"].size());
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i]["function"]["name"], expected["tool_calls"][i]["function"]["name"]);
    // Same seed, same sampling: the same arguments (the ids are fresh per response).
    EXPECT_EQ(calls[i]["function"]["arguments"], expected["tool_calls"][i]["function"]["arguments"]);
  }
}

TEST(ToolsApiTest, LogprobsInChatAndCompletions) {
  TestServer server(ToolsConfig());
  HttpResult chat = PostJson(server.port(), "/v1/chat/completions",
                             {{"model", "chat"},
                              {"messages", {{{"role", "user"}, {"content", "Tell a story"}}}},
                              {"temperature", 0},
                              {"max_tokens", 6},
                              {"logprobs", true},
                              {"top_logprobs", 3}});
  ASSERT_EQ(chat.status, 200) << chat.body;
  Json c = Json::parse(chat.body);
  const Json& content = c["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), c["usage"]["completion_tokens"].get<size_t>());
  std::string joined;
  for (const Json& t : content) {
    joined += t["token"].get<std::string>();
    EXPECT_LE(t["logprob"].get<double>(), 0.0);
    ASSERT_EQ(t["top_logprobs"].size(), 3u);
    EXPECT_EQ(t["top_logprobs"][0]["token"], t["token"]);  // greedy
    EXPECT_EQ(t["bytes"].size(), t["token"].get<std::string>().size());
  }
  EXPECT_EQ(joined, c["choices"][0]["message"]["content"]);

  HttpResult text = PostJson(server.port(), "/v1/completions",
                             {{"model", "chat"}, {"prompt", "Once"}, {"temperature", 0},
                              {"max_tokens", 4}, {"logprobs", 2}});
  ASSERT_EQ(text.status, 200) << text.body;
  Json t = Json::parse(text.body);
  const Json& lp = t["choices"][0]["logprobs"];
  ASSERT_EQ(lp["tokens"].size(), 4u);
  ASSERT_EQ(lp["token_logprobs"].size(), 4u);
  ASSERT_EQ(lp["top_logprobs"][0].size(), 2u);
  EXPECT_EQ(lp["text_offset"][0], 0);

  // Without asking: null, as OpenAI.
  HttpResult plain = PostJson(server.port(), "/v1/completions",
                              {{"model", "chat"}, {"prompt", "Once"}, {"max_tokens", 2}});
  EXPECT_TRUE(Json::parse(plain.body)["choices"][0]["logprobs"].is_null());
}

TEST(ToolsApiTest, TokenizeAndDetokenize) {
  TestServer server(ToolsConfig());
  HttpResult tokens = PostJson(server.port(), "/tokenize",
                               {{"model", "chat"}, {"content", "Once upon a time"}, {"with_pieces", true}});
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  Json list = Json::parse(tokens.body)["tokens"];
  ASSERT_FALSE(list.empty());
  Json ids = Json::array();
  std::string pieces;
  for (const Json& t : list) {
    ids.push_back(t["id"]);
    pieces += t["piece"].get<std::string>();
  }
  HttpResult back = PostJson(server.port(), "/detokenize", {{"model", "chat"}, {"tokens", ids}});
  ASSERT_EQ(back.status, 200) << back.body;
  EXPECT_EQ(Json::parse(back.body)["content"], pieces);
  EXPECT_THAT(pieces, HasSubstr("upon a time"));
  HttpResult bad = PostJson(server.port(), "/detokenize", {{"model", "chat"}, {"tokens", {-4}}});
  EXPECT_EQ(bad.status, 400);
  HttpResult embed = PostJson(server.port(), "/tokenize", {{"model", "embed"}, {"content", "x"}});
  EXPECT_EQ(embed.status, 400) << embed.body;
}

TEST(ToolsApiTest, WhatCannotBeHonouredIsA400NamingTheField) {
  TestServer server(ToolsConfig());
  struct Case {
    Json extra;
    std::string message;
  };
  Json bad_schema = kWeather;
  bad_schema["function"]["parameters"] = {{"type", "tensor"}};
  Json no_name = kWeather;
  no_name["function"].erase("name");
  for (const Case& c : std::initializer_list<Case>{
           {{{"tools", {bad_schema}}}, "tools[0].function.parameters"},
           {{{"tools", {no_name}}}, "name"},
           {{{"tools", {{{"type", "retrieval"}}}}}, "tools[0].type"},
           {{{"tools", "get_weather"}}, "'tools' must be an array"},
           {{{"tool_choice", {{"type", "function"}, {"function", {{"name", "get_time"}}}}}},
            "no tool named 'get_time'"},
           {{{"tool_choice", "sometimes"}}, "tool_choice"},
           {{{"logprobs", true}, {"top_logprobs", 21}}, "top_logprobs"},
           {{{"top_logprobs", 2}}, "top_logprobs"},
           {{{"grammar", "root ::= \"a\""}}, "tools"},
           {{{"logit_bias", {{"abc", 1}}}}, "logit_bias"},
           {{{"logit_bias", {{"5", 500}}}}, "logit_bias"},
           {{{"presence_penalty", 3}}, "presence_penalty"},
           {{{"messages", {{{"role", "tool"}, {"content", "x"}}}}}, "tool_call_id"},
           {{{"functions", Json::array({{{"name", "f"}}})}}, "functions"},
       }) {
    HttpResult r = PostJson(server.port(), "/v1/chat/completions", ToolChat(c.extra));
    EXPECT_EQ(r.status, 400) << c.extra.dump() << " -> " << r.body;
    Json body = Json::parse(r.body, nullptr, false);
    EXPECT_THAT(body["error"]["message"].get<std::string>(), HasSubstr(c.message)) << c.extra.dump();
  }
  // stories260K has no template that renders tools.
  Json plain = ToolChat({{"model", "chat"}});
  HttpResult r = PostJson(server.port(), "/v1/chat/completions", plain);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("tools"));
}

}  // namespace
}  // namespace modelrt::testing
