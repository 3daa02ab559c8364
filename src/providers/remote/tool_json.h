// Function calling and log-probabilities on the wire: what the wire formats that carry them
// share. OpenAI's shapes (tools[].function, message.tool_calls, logprobs.content) are spoken by
// OpenAI, Azure, Mistral, Ollama and Cohere v2 alike; Anthropic and Gemini take a call's
// arguments as a JSON object instead of text.
//
//   body["tools"] = OpenAiTools(request.tools);
//   MODELRT_ASSIGN_OR_RETURN(Json input, ArgumentsObject(call));   // Anthropic's tool_use.input
//   StreamedToolCalls calls;                                       // a stream's deltas
//   calls.Add(index, id, name, fragment);  ...  result.tool_calls = calls.Take();
//
// Thread-safety: free functions over values; a StreamedToolCalls is one stream's.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "modelrt/model.h"
#include "modelrt/status.h"

namespace modelrt::remote {

// A tool's parameters (JSON Schema text, checked by the front doors) as JSON.
Json ToolParameters(const ToolSpec& tool);

// One function as the APIs declare it: {name, description (when there is one), <schema_key>:
// parameters}; schema_key is "parameters" (OpenAI, Gemini) or "input_schema" (Anthropic).
Json FunctionDeclaration(const ToolSpec& tool, const char* schema_key);

// tools[] as OpenAI's chat API has it: [{type: function, function: {name, description,
// parameters}}].
Json OpenAiTools(const std::vector<ToolSpec>& tools);

// An assistant message's tool_calls in OpenAI's shape (arguments as JSON text).
Json OpenAiToolCalls(const std::vector<ToolCall>& calls);

// Calls in OpenAI's shape, [{id, function: {name, arguments}}]; arguments may be text or (as
// Ollama and some servers send them) an object. Calls without an id get a fresh one; entries
// without a function name are skipped.
std::vector<ToolCall> ReadOpenAiToolCalls(const Json& calls);

// A call's arguments as a JSON object, for APIs that take one (Anthropic's input, Gemini's args,
// Ollama's arguments). InvalidArgument naming the call when its text is not a JSON object.
Result<Json> ArgumentsObject(const ToolCall& call);

// The name of the function the call `tool_call_id` asked for, from the assistant messages
// before it ("" when none matches): Gemini answers a call by its function's name.
std::string CalledFunction(const std::vector<ChatMessage>& messages, const std::string& tool_call_id);

// Reads per-token log-probabilities in OpenAI's chat shape (logprobs.content[{token, logprob,
// top_logprobs}], which llama-server also answers /v1/completions with) or the legacy
// completions shape ({tokens, token_logprobs, top_logprobs: [{token: logprob}]}), appending to
// `out`. Anything else is ignored (the upstream sent none).
void ReadLogprobs(const Json& logprobs, std::vector<TokenLogprob>* out);

// Tool calls that arrive in pieces (streamed deltas): by index, the id and name once, the
// arguments in fragments.
class StreamedToolCalls {
 public:
  // Empty id or name leave what an earlier piece set.
  void Add(int64_t index, std::string_view id, std::string_view name, std::string_view arguments);
  // A call that arrives whole (Gemini's functionCall parts, Ollama's and whole answers'
  // tool_calls), after the others.
  void AddWhole(std::string_view id, std::string_view name, std::string arguments);
  bool empty() const { return calls_.empty(); }
  // The calls in index order; calls without a name are dropped, ids filled in where none came,
  // empty arguments become "{}".
  std::vector<ToolCall> Take();
  // Take()s the calls into `result`. Upstreams that finish "stop" when the model called
  // functions (Gemini, Ollama, Cohere) then finish with kToolCalls, as OpenAI's do.
  void MoveInto(GenerateResult* result);

 private:
  std::map<int64_t, ToolCall> calls_;
};

}  // namespace modelrt::remote
