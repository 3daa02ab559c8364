// Anthropic's Messages API and Ollama's API on the real server, at the wire: the event sequence
// Anthropic streams, NDJSON lines as Ollama streams them, and errors in each API's own shape.
// (The official clients drive both in tests/e2e.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "server/http_test_client.h"
#include "server/test_server.h"

namespace modelrt::testing {
namespace {

using ::testing::HasSubstr;

// Data payloads of an SSE body whose events carry names ("event: x\ndata: {...}").
std::vector<std::string> NamedEventData(const std::string& body) {
  std::vector<std::string> out;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("data: ", 0) == 0) out.push_back(line.substr(6));
  }
  return out;
}

// Event names of an SSE body, in order.
std::vector<std::string> EventNames(const std::string& body) {
  std::vector<std::string> names;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("event: ", 0) == 0) names.push_back(line.substr(7));
  }
  return names;
}

Json Message(Json extra = Json::object()) {
  Json body = {{"model", "chat"},
               {"max_tokens", 8},
               {"system", "You tell stories."},
               {"messages", {{{"role", "user"}, {"content", "Tell me about a dog."}}}},
               {"temperature", 0}};
  body.update(extra);
  return body;
}

TEST(AnthropicApiTest, WholeAndStreamedMessagesAgree) {
  TestServer server(TestConfig());
  HttpResult whole = PostJson(server.port(), "/v1/messages", Message());
  ASSERT_EQ(whole.status, 200) << whole.body;
  Json m = Json::parse(whole.body);
  EXPECT_EQ(m["type"], "message");
  EXPECT_EQ(m["role"], "assistant");
  EXPECT_EQ(m["id"].get<std::string>().rfind("msg_", 0), 0u);
  ASSERT_EQ(m["content"][0]["type"], "text");
  EXPECT_TRUE(m["stop_reason"] == "max_tokens" || m["stop_reason"] == "end_turn") << whole.body;
  EXPECT_GT(m["usage"]["output_tokens"].get<int>(), 0);
  EXPECT_LE(m["usage"]["output_tokens"].get<int>(), 8);

  HttpResult stream = PostJson(server.port(), "/v1/messages", Message({{"stream", true}}));
  ASSERT_EQ(stream.status, 200) << stream.body;
  std::vector<std::string> names = EventNames(stream.body);
  ASSERT_GE(names.size(), 6u) << stream.body;
  EXPECT_EQ(names.front(), "message_start");
  EXPECT_EQ(names[1], "content_block_start");
  EXPECT_EQ(names[2], "ping");
  EXPECT_EQ(names[names.size() - 3], "content_block_stop");
  EXPECT_EQ(names[names.size() - 2], "message_delta");
  EXPECT_EQ(names.back(), "message_stop");
  std::string text;
  for (const std::string& data : NamedEventData(stream.body)) {
    Json event = Json::parse(data);
    if (event["type"] == "content_block_delta") text += event["delta"]["text"].get<std::string>();
    if (event["type"] == "message_delta") {
      EXPECT_EQ(event["delta"]["stop_reason"], m["stop_reason"]);
    }
  }
  EXPECT_EQ(text, m["content"][0]["text"]);

  HttpResult count = PostJson(server.port(), "/v1/messages/count_tokens", Message());
  ASSERT_EQ(count.status, 200) << count.body;
  EXPECT_GT(Json::parse(count.body)["input_tokens"].get<int>(), 5);
}

TEST(AnthropicApiTest, AStopSequenceIsReportedAsSuch) {
  TestServer server(TestConfig());
  HttpResult plain = PostJson(server.port(), "/v1/messages", Message({{"max_tokens", 16}}));
  ASSERT_EQ(plain.status, 200) << plain.body;
  const std::string text = Json::parse(plain.body)["content"][0]["text"];
  // The second word of the greedy answer (with its leading space) ends the same answer early.
  const size_t first_space = text.find(' ', 1);
  ASSERT_NE(first_space, std::string::npos) << text;
  const size_t second_space = text.find(' ', first_space + 1);
  ASSERT_NE(second_space, std::string::npos) << text;
  const std::string stop = text.substr(first_space, second_space - first_space);
  const Json body = Message({{"max_tokens", 16}, {"stop_sequences", {stop}}});
  HttpResult whole = PostJson(server.port(), "/v1/messages", body);
  ASSERT_EQ(whole.status, 200) << whole.body;
  Json m = Json::parse(whole.body);
  EXPECT_EQ(m["stop_reason"], "stop_sequence") << whole.body;
  EXPECT_EQ(m["stop_sequence"], stop) << whole.body;
  EXPECT_EQ(m["content"][0]["text"], text.substr(0, first_space));

  Json streamed = body;
  streamed["stream"] = true;
  HttpResult stream = PostJson(server.port(), "/v1/messages", streamed);
  ASSERT_EQ(stream.status, 200) << stream.body;
  bool delta_seen = false;
  for (const std::string& data : NamedEventData(stream.body)) {
    Json event = Json::parse(data);
    if (event["type"] != "message_delta") continue;
    delta_seen = true;
    EXPECT_EQ(event["delta"]["stop_reason"], "stop_sequence");
    EXPECT_EQ(event["delta"]["stop_sequence"], stop);
  }
  EXPECT_TRUE(delta_seen) << stream.body;
  // Without a stop string, the field stays null.
  EXPECT_TRUE(Json::parse(plain.body)["stop_sequence"].is_null());
}

TEST(AnthropicApiTest, ErrorsHaveAnthropicsShape) {
  TestServer server(TestConfig());
  Json no_max = Message();
  no_max.erase("max_tokens");
  for (const auto& [body, needle, status] : std::vector<std::tuple<Json, std::string, int>>{
           {no_max, "max_tokens", 400},
           {Message({{"model", "nope"}}), "nope", 404},
           {Message({{"messages", {{{"role", "system"}, {"content", "x"}}}}}), "messages[0].role", 400},
           {Message({{"messages", {{{"role", "user"}, {"content", {{{"type", "image"}}}}}}}}), "image", 400},
           {Message({{"tool_choice", {{"type", "any"}}}}), "tool_choice", 400},
       }) {
    HttpResult r = PostJson(server.port(), "/v1/messages", body);
    EXPECT_EQ(r.status, status) << r.body;
    Json error = Json::parse(r.body, nullptr, false);
    EXPECT_EQ(error["type"], "error") << r.body;
    EXPECT_THAT(error["error"]["message"].get<std::string>(), HasSubstr(needle)) << r.body;
    EXPECT_TRUE(error["error"]["type"].is_string());
  }
}

TEST(OllamaApiTest, ChatStreamsNdjsonByDefault) {
  TestServer server(TestConfig());
  Json body = {{"model", "chat"},
               {"messages", {{{"role", "user"}, {"content", "Tell me about a cat."}}}},
               {"options", {{"temperature", 0}, {"num_predict", 6}, {"num_ctx", 4096}}}};
  HttpResult stream = PostJson(server.port(), "/api/chat", body);
  ASSERT_EQ(stream.status, 200) << stream.body;
  std::istringstream lines(stream.body);
  std::string text;
  Json last;
  int count = 0;
  for (std::string line; std::getline(lines, line);) {
    last = Json::parse(line);
    text += last["message"]["content"].get<std::string>();
    ++count;
  }
  EXPECT_GE(count, 2);
  EXPECT_EQ(last["done"], true);
  EXPECT_TRUE(last["done_reason"] == "length" || last["done_reason"] == "stop") << last.dump();
  EXPECT_LE(last["eval_count"].get<int>(), 6);
  body["stream"] = false;
  HttpResult whole = PostJson(server.port(), "/api/chat", body);
  ASSERT_EQ(whole.status, 200) << whole.body;
  EXPECT_EQ(Json::parse(whole.body)["message"]["content"], text);

  HttpResult tags = HttpCall(server.port(), "GET", "/api/tags", "");
  ASSERT_EQ(tags.status, 200);
  EXPECT_THAT(tags.body, HasSubstr("\"chat\""));
  HttpResult embed = PostJson(server.port(), "/api/embed", {{"model", "embed"}, {"input", "hi"}});
  ASSERT_EQ(embed.status, 200) << embed.body;
  EXPECT_EQ(Json::parse(embed.body)["embeddings"][0].size(), 64u);
}

TEST(OllamaApiTest, ErrorsHaveOllamasShape) {
  TestServer server(TestConfig());
  HttpResult unknown = PostJson(server.port(), "/api/chat",
                                {{"model", "nope"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}});
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_TRUE(Json::parse(unknown.body)["error"].is_string()) << unknown.body;
  HttpResult option = PostJson(server.port(), "/api/generate",
                               {{"model", "chat"}, {"prompt", "x"}, {"options", {{"mirostat", 2}}}});
  EXPECT_EQ(option.status, 400);
  EXPECT_THAT(Json::parse(option.body)["error"].get<std::string>(), HasSubstr("options.mirostat"));
  HttpResult wrong_task = PostJson(server.port(), "/api/embed", {{"model", "chat"}, {"input", "x"}});
  EXPECT_EQ(wrong_task.status, 400) << wrong_task.body;
}

// A profile's default parameters hold on every door: the storyteller profile is greedy with
// 8 tokens, and the Anthropic and Ollama answers equal the chat completion's.
TEST(FrontDoorsTest, ProfileParametersApplyOnEveryDoor) {
  TestServer server(TestConfig());
  const Json user = {{{"role", "user"}, {"content", "Tell me about a dog."}}};
  HttpResult openai = PostJson(server.port(), "/v1/chat/completions",
                               {{"model", "storyteller"}, {"messages", user}});
  ASSERT_EQ(openai.status, 200) << openai.body;
  const Json chat = Json::parse(openai.body);
  const int64_t tokens = chat["usage"]["completion_tokens"];
  EXPECT_LE(tokens, 8);
  const std::string text = chat["choices"][0]["message"]["content"];

  HttpResult anthropic = PostJson(server.port(), "/v1/messages",
                                  {{"model", "storyteller"}, {"max_tokens", 8}, {"messages", user}});
  ASSERT_EQ(anthropic.status, 200) << anthropic.body;
  EXPECT_EQ(Json::parse(anthropic.body)["content"][0]["text"], text);

  HttpResult ollama = PostJson(server.port(), "/api/chat",
                               {{"model", "storyteller"}, {"messages", user}, {"stream", false}});
  ASSERT_EQ(ollama.status, 200) << ollama.body;
  const Json answer = Json::parse(ollama.body);
  EXPECT_EQ(answer["message"]["content"], text);
  EXPECT_EQ(answer["eval_count"], tokens);
  // The request's own values still win.
  HttpResult shorter = PostJson(server.port(), "/api/chat",
                                {{"model", "storyteller"}, {"messages", user}, {"stream", false},
                                 {"options", {{"num_predict", 3}}}});
  ASSERT_EQ(shorter.status, 200) << shorter.body;
  EXPECT_LE(Json::parse(shorter.body)["eval_count"].get<int64_t>(), 3);
}

}  // namespace
}  // namespace modelrt::testing
