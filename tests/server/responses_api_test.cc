// OpenAI's Responses API on the real server, at the wire: the response object, the event
// sequence it streams (numbered, reassembling to the whole answer), function calls that round
// trip as input items, and what cannot be honoured as a 400 naming the field. (The official
// `openai` client drives it in tests/e2e.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "server/http_test_client.h"
#include "server/test_server.h"

namespace modelrt::testing {
namespace {

using ::testing::HasSubstr;

struct Event {
  std::string name;
  Json data;
};

std::vector<Event> Events(const std::string& body) {
  std::vector<Event> out;
  std::istringstream in(body);
  std::string name;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("event: ", 0) == 0) name = line.substr(7);
    if (line.rfind("data: ", 0) == 0) out.push_back({name, Json::parse(line.substr(6))});
  }
  return out;
}

Json Request(Json extra = Json::object()) {
  Json body = {{"model", "chat"},
               {"instructions", "You tell stories."},
               {"input", "Tell me about a dog."},
               {"max_output_tokens", 8},
               {"temperature", 0}};
  body.update(extra);
  return body;
}

std::string OutputText(const Json& response) {
  std::string text;
  for (const Json& item : response["output"]) {
    if (item["type"] != "message") continue;
    for (const Json& part : item["content"]) {
      if (part["type"] == "output_text") text += part["text"].get<std::string>();
    }
  }
  return text;
}

TEST(ResponsesApiTest, WholeAndStreamedResponsesAgree) {
  TestServer server(TestConfig());
  HttpResult whole = PostJson(server.port(), "/v1/responses", Request());
  ASSERT_EQ(whole.status, 200) << whole.body;
  Json r = Json::parse(whole.body);
  EXPECT_EQ(r["object"], "response");
  EXPECT_EQ(r["id"].get<std::string>().rfind("resp_", 0), 0u);
  EXPECT_EQ(r["model"], "chat");
  EXPECT_EQ(r["instructions"], "You tell stories.");
  EXPECT_EQ(r["max_output_tokens"], 8);
  ASSERT_EQ(r["output"].size(), 1u) << whole.body;
  EXPECT_EQ(r["output"][0]["type"], "message");
  EXPECT_EQ(r["output"][0]["role"], "assistant");
  EXPECT_FALSE(OutputText(r).empty());
  // Eight tokens of a story: cut short, as OpenAI reports it.
  if (r["status"] == "incomplete") {
    EXPECT_EQ(r["incomplete_details"]["reason"], "max_output_tokens");
  } else {
    EXPECT_EQ(r["status"], "completed");
  }
  EXPECT_GT(r["usage"]["input_tokens"].get<int>(), 5);
  EXPECT_GT(r["usage"]["output_tokens"].get<int>(), 0);
  EXPECT_EQ(r["usage"]["total_tokens"].get<int>(),
            r["usage"]["input_tokens"].get<int>() + r["usage"]["output_tokens"].get<int>());

  HttpResult stream = PostJson(server.port(), "/v1/responses", Request({{"stream", true}}));
  ASSERT_EQ(stream.status, 200) << stream.body;
  EXPECT_EQ(stream.Header("Content-Type"), "text/event-stream");
  std::vector<Event> events = Events(stream.body);
  ASSERT_GE(events.size(), 9u) << stream.body;
  std::vector<std::string> names;
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].data["type"], events[i].name);
    EXPECT_EQ(events[i].data["sequence_number"], static_cast<int>(i));
    if (names.empty() || names.back() != events[i].name) names.push_back(events[i].name);
  }
  const std::vector<std::string> expected = {
      "response.created",           "response.in_progress",      "response.output_item.added",
      "response.content_part.added", "response.output_text.delta", "response.output_text.done",
      "response.content_part.done", "response.output_item.done",
      r["status"] == "completed" ? "response.completed" : "response.incomplete"};
  EXPECT_EQ(names, expected) << stream.body;
  std::string text;
  for (const Event& e : events) {
    if (e.name == "response.output_text.delta") text += e.data["delta"].get<std::string>();
  }
  EXPECT_EQ(text, OutputText(r));
  const Json& last = events.back().data["response"];
  EXPECT_EQ(OutputText(last), text);
  EXPECT_EQ(last["status"], r["status"]);
  EXPECT_EQ(last["id"], events.front().data["response"]["id"]);
  EXPECT_EQ(events.front().data["response"]["status"], "in_progress");
}

TEST(ResponsesApiTest, InputItemsBecomeTheConversation) {
  TestServer server(TestConfig());
  // Messages with content parts, developer as system: the same prompt as the chat API's.
  Json items = Request({{"input",
                         {{{"role", "developer"}, {"content", "Be brief."}},
                          {{"type", "message"},
                           {"role", "user"},
                           {"content", {{{"type", "input_text"}, {"text", "A dog "}},
                                        {{"type", "input_text"}, {"text", "story?"}}}}}}}});
  items.erase("instructions");
  HttpResult a = PostJson(server.port(), "/v1/responses", items);
  ASSERT_EQ(a.status, 200) << a.body;
  Json chat = {{"model", "chat"},
               {"messages",
                {{{"role", "system"}, {"content", "Be brief."}},
                 {{"role", "user"}, {"content", "A dog story?"}}}},
               {"max_tokens", 8},
               {"temperature", 0}};
  HttpResult b = PostJson(server.port(), "/v1/chat/completions", chat);
  ASSERT_EQ(b.status, 200) << b.body;
  EXPECT_EQ(OutputText(Json::parse(a.body)),
            Json::parse(b.body)["choices"][0]["message"]["content"].get<std::string>());
  EXPECT_EQ(Json::parse(a.body)["usage"]["input_tokens"], Json::parse(b.body)["usage"]["prompt_tokens"]);
}

TEST(ResponsesApiTest, WhatCannotBeHonouredIsA400NamingTheField) {
  TestServer server(TestConfig());
  Json no_input = Request();
  no_input.erase("input");
  const Json function = {{"type", "function"}, {"name", "f"}, {"parameters", {{"type", "object"}}}};
  for (const auto& [body, needle, status] : std::vector<std::tuple<Json, std::string, int>>{
           {no_input, "input", 400},
           {Request({{"model", "nope"}}), "nope", 404},
           {Request({{"previous_response_id", "resp_1"}}), "previous_response_id", 400},
           {Request({{"input", {{{"type", "image_generation_call"}}}}}), "input[0].type", 400},
           {Request({{"input", {{{"role", "user"}, {"content", {{{"type", "input_image"}}}}}}}}),
            "input[0].content[0].type", 400},
           {Request({{"tools", {{{"type", "web_search"}}}}}), "tools[0].type", 400},
           {Request({{"tools", {function}}, {"tool_choice", {{"type", "function"}, {"name", "g"}}}}),
            "tool_choice", 400},
           {Request({{"text", {{"format", {{"type", "xml"}}}}}}), "text.format.type", 400},
           {Request({{"max_output_tokens", 100000}}), "max_output_tokens", 400},
           {Request({{"input", {{{"type", "function_call_output"}, {"output", "x"}}}}}), "call_id", 400},
       }) {
    HttpResult r = PostJson(server.port(), "/v1/responses", body);
    EXPECT_EQ(r.status, status) << body.dump() << " -> " << r.body;
    Json error = Json::parse(r.body, nullptr, false);
    ASSERT_TRUE(error.contains("error")) << r.body;
    EXPECT_THAT(error["error"]["message"].get<std::string>(), HasSubstr(needle)) << r.body;
  }
}

TEST(ResponsesApiTest, FunctionCallsRoundTripAsItems) {
  TestServer server(ToolsConfig());
  const Json weather = {{"type", "function"},
                        {"name", "get_weather"},
                        {"description", "The weather in a city"},
                        {"parameters",
                         {{"type", "object"},
                          {"properties", {{"city", {{"enum", {"Paris", "Tokyo"}}}}}},
                          {"required", {"city"}},
                          {"additionalProperties", false}}}};
  Json body = {{"model", "tools"},
               {"input", "Weather in Paris?"},
               {"tools", {weather}},
               {"tool_choice", "required"},
               {"temperature", 1.0},
               {"max_output_tokens", 300}};
  HttpResult r = PostJson(server.port(), "/v1/responses", body);
  ASSERT_EQ(r.status, 200) << r.body;
  Json response = Json::parse(r.body);
  EXPECT_EQ(response["status"], "completed") << r.body;
  const Json* call = nullptr;
  for (const Json& item : response["output"]) {
    if (item["type"] == "function_call") call = &item;
  }
  ASSERT_NE(call, nullptr) << r.body;
  EXPECT_EQ((*call)["name"], "get_weather");
  EXPECT_EQ((*call)["status"], "completed");
  Json args = Json::parse((*call)["arguments"].get<std::string>());
  EXPECT_TRUE(args["city"] == "Paris" || args["city"] == "Tokyo") << args.dump();

  // The call and its output go back in as items; the model answers.
  Json next = body;
  next["tool_choice"] = "none";
  next["max_output_tokens"] = 8;
  next["input"] = Json::array({{{"role", "user"}, {"content", "Weather in Paris?"}}});
  for (const Json& item : response["output"]) next["input"].push_back(item);
  next["input"].push_back({{"type", "function_call_output"},
                           {"call_id", (*call)["call_id"]},
                           {"output", "sunny, 21 degrees"}});
  HttpResult answer = PostJson(server.port(), "/v1/responses", next);
  ASSERT_EQ(answer.status, 200) << answer.body;
  // The chat messages those items mean: every call (parallel calls are on) in one assistant
  // message, then the output.
  Json calls = Json::array();
  for (const Json& item : response["output"]) {
    if (item["type"] != "function_call") continue;
    calls.push_back({{"id", item["call_id"]},
                     {"type", "function"},
                     {"function", {{"name", item["name"]}, {"arguments", item["arguments"]}}}});
  }
  Json chat = {{"model", "tools"},
               {"messages", Json::array({{{"role", "user"}, {"content", "Weather in Paris?"}},
                                         {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", calls}},
                                         {{"role", "tool"},
                                          {"tool_call_id", (*call)["call_id"]},
                                          {"content", "sunny, 21 degrees"}}})},
               {"tools", {{{"type", "function"},
                           {"function", {{"name", "get_weather"},
                                         {"description", "The weather in a city"},
                                         {"parameters", weather["parameters"]}}}}}}};
  // The same conversation through the chat API: the same prompt, token for token.
  chat["tool_choice"] = "none";
  chat["max_tokens"] = 8;
  HttpResult same = PostJson(server.port(), "/v1/chat/completions", chat);
  ASSERT_EQ(same.status, 200) << same.body;
  EXPECT_EQ(Json::parse(answer.body)["usage"]["input_tokens"],
            Json::parse(same.body)["usage"]["prompt_tokens"]);
  HttpResult prompt = PostJson(server.port(), "/apply-template", chat);
  ASSERT_EQ(prompt.status, 200) << prompt.body;
  EXPECT_THAT(Json::parse(prompt.body)["prompt"].get<std::string>(), HasSubstr("sunny, 21 degrees"));

  // Streamed: the call comes as an output item with its arguments, then response.completed.
  body["stream"] = true;
  HttpResult stream = PostJson(server.port(), "/v1/responses", body);
  ASSERT_EQ(stream.status, 200) << stream.body;
  std::vector<Event> events = Events(stream.body);
  ASSERT_FALSE(events.empty());
  // Each call (parallel calls are on) is its own output item, its deltas its arguments.
  std::map<int, std::string> arguments;
  for (const Event& e : events) {
    if (e.name == "response.function_call_arguments.delta")
      arguments[e.data["output_index"].get<int>()] += e.data["delta"].get<std::string>();
  }
  ASSERT_FALSE(arguments.empty()) << stream.body;
  const Json& final = events.back().data["response"];
  for (const auto& [index, text] : arguments) {
    EXPECT_NO_THROW(Json::parse(text)) << text;
    EXPECT_EQ(final["output"][index]["arguments"], text);
  }
  EXPECT_EQ(events.back().name, "response.completed");
}

}  // namespace
}  // namespace modelrt::testing
