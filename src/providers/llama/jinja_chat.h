// The model's Jinja chat template through the pinned llama.cpp's own chat support
// (common/chat.h), as llama-server uses it: messages with tool calls and tool results, tool
// definitions, the grammar (and its lazy triggers) that constrains a tool call to the
// template's syntax and the function's schema, and the parser that turns the reply back into
// content, reasoning and tool calls. Built apart from the rest (modelrt_llama_chat) so that
// llama.cpp's vendored nlohmann stays out of modelrt's other files.
//
//   MODELRT_ASSIGN_OR_RETURN(auto chat, JinjaChat::Create(model, /*override=*/""));
//   MODELRT_ASSIGN_OR_RETURN(ChatRendering r, chat->Render(request));   // prompt + grammar
//   ... generate from r.prompt under r.grammar ...
//   ParsedReply reply = r.parser->Parse(text, /*partial=*/false);      // content + tool calls
//
// Thread-safety: a JinjaChat is immutable after Create and safe from many threads; a
// ReplyParser too.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "modelrt/model.h"
#include "modelrt/status.h"

struct llama_model;

namespace modelrt::llama {

// A reply split the way the template writes it.
struct ParsedReply {
  std::string content;
  std::string reasoning;
  std::vector<ToolCall> tool_calls;  // ids as the model wrote them (often none)
};

class ReplyParser {
 public:
  virtual ~ReplyParser() = default;
  // `partial`: the reply is still being generated (an unfinished call is left out, not an
  // error). Text the parser cannot read is returned as content.
  virtual ParsedReply Parse(const std::string& text, bool partial) const = 0;
};

// A chat rendered for generation.
struct ChatRendering {
  std::string prompt;
  // GBNF the reply must follow ("" = free text). Lazy: only from the first match of a trigger
  // pattern (or token) on; otherwise from the first token, after `grammar_prefill`.
  std::string grammar;
  bool grammar_lazy = false;
  std::vector<std::string> trigger_patterns;  // regular expressions
  std::vector<int32_t> trigger_tokens;
  // Text the template already put at the end of the prompt that a strict grammar starts with:
  // fed to the grammar before the reply (as llama.cpp's common sampler does).
  std::string grammar_prefill;
  // Special tokens the reply may contain as text (<tool_call>): rendered, not dropped.
  std::vector<std::string> preserved_tokens;
  std::vector<std::string> additional_stops;
  // Set when the reply must be parsed (tools offered, or a template that thinks aloud); null
  // when the reply is the content as written.
  std::shared_ptr<const ReplyParser> parser;
};

class JinjaChat {
 public:
  // `override_template` is a template text ("" = the model's own tokenizer.chat_template, or
  // llama.cpp's ChatML default when it has none). InvalidArgument when it does not parse.
  static Result<std::shared_ptr<const JinjaChat>> Create(const llama_model* model,
                                                         const std::string& override_template);
  virtual ~JinjaChat() = default;

  // Whether the model (or the override) has a template of its own, rather than the default.
  virtual bool has_own_template() const = 0;
  // Whether the template renders tool definitions and tool calls.
  virtual bool supports_tools() const = 0;

  // Renders request.messages with request.tools and tool_choice (kNamed: that function only,
  // required). InvalidArgument for what the template or llama.cpp refuses (a malformed tool
  // schema, tools on a template without tool support, messages it cannot render), naming it.
  virtual Result<ChatRendering> Render(const GenerateRequest& request) const = 0;
};

}  // namespace modelrt::llama
