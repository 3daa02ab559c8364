#include "providers/llama/jinja_chat.h"

#include <cctype>
#include <exception>
#include <utility>

#include "chat.h"
#include "common.h"

namespace modelrt::llama {
namespace {

class CommonReplyParser final : public ReplyParser {
 public:
  explicit CommonReplyParser(common_chat_parser_params params) : params_(std::move(params)) {}

  ParsedReply Parse(const std::string& text, bool partial) const override {
    ParsedReply reply;
    try {
      common_chat_msg msg = common_chat_parse(text, partial, params_);
      reply.content = std::move(msg.content);
      reply.reasoning = std::move(msg.reasoning_content);
      for (auto& call : msg.tool_calls) {
        reply.tool_calls.push_back({std::move(call.id), std::move(call.name), std::move(call.arguments)});
      }
    } catch (const std::exception&) {
      // A reply that does not follow the template's syntax (a free-text reply cut short, an
      // unconstrained model) is plain content.
      reply = ParsedReply{};
      reply.content = text;
    }
    return reply;
  }

 private:
  const common_chat_parser_params params_;
};

// The root rule's line in `grammar`: [begin, end) offsets; npos when there is none.
std::pair<size_t, size_t> RootLine(const std::string& grammar) {
  size_t start = grammar.rfind("\nroot ::= ");
  start = start == std::string::npos ? (grammar.rfind("root ::= ", 0) == 0 ? 0 : std::string::npos)
                                     : start + 1;
  if (start == std::string::npos) return {start, start};
  size_t end = grammar.find('\n', start);
  return {start, end == std::string::npos ? grammar.size() : end};
}

// A strict tool-call grammar starts with (part of) the generation prompt the template already
// wrote at the end of the prompt ("<|im_start|>assistant\n"). llama.cpp feeds those tokens to
// the grammar first; but a vocabulary without them as special tokens (an SPM test model)
// tokenizes them with a leading space the grammar refuses, and the free text a required call
// no longer allows (CallsOnly) cannot take the rest ("<think></think>"). The reply starts
// after the whole generation prompt, so the literal comes off the root rule instead and
// nothing is fed. False when the root does not start with a literal the generation prompt
// starts with (then llama.cpp's way: the tokens are fed).
// `only_whole`: only a literal that is the whole generation prompt (when the rest of it is not
// known to be free text the reply no longer needs).
bool DropLeadingLiteral(std::string* grammar, const std::string& generation_prompt, bool only_whole) {
  auto [start, end] = RootLine(*grammar);
  if (start == std::string::npos) return false;
  const std::string head = "root ::= \"";
  size_t i = start + head.size();
  if (grammar->compare(start, head.size(), head) != 0) return false;
  std::string literal;
  for (; i < end && (*grammar)[i] != '"'; ++i) {
    char c = (*grammar)[i];
    if (c == '\\' && i + 1 < end) {
      char e = (*grammar)[++i];
      c = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e;
    }
    literal.push_back(c);
  }
  if (i >= end || generation_prompt.compare(0, literal.size(), literal) != 0) return false;
  if (only_whole && literal.size() != generation_prompt.size()) return false;
  grammar->erase(start + head.size() - 1, i + 1 - (start + head.size() - 1));
  return true;
}

// llama.cpp's tool-call grammar lets a reply write free text, and think, before its calls even
// when a call is required (a real model may think aloud first). Here a required call means the
// reply is the calls: the optional parts of the root rule (a thinking block "(...)?", the free
// text "until-N?") are taken out, so even a random-weight model calls at once instead of
// rambling until max_tokens.
std::string CallsOnly(std::string grammar) {
  auto [start, end] = RootLine(grammar);
  if (start == std::string::npos) return grammar;
  const std::string line = grammar.substr(start, end - start);
  std::string kept;
  for (size_t i = 0; i < line.size();) {
    const char c = line[i];
    if (c == '"') {  // a literal, copied as written
      size_t j = i + 1;
      while (j < line.size() && line[j] != '"') j += line[j] == '\\' ? 2 : 1;
      kept += line.substr(i, j + 1 - i);
      i = j + 1;
    } else if (c == '(') {  // a group: dropped when optional, kept otherwise
      size_t j = i, depth = 0;
      for (; j < line.size(); ++j) {
        if (line[j] == '"') {
          for (++j; j < line.size() && line[j] != '"';) j += line[j] == '\\' ? 2 : 1;
        } else if (line[j] == '(') {
          ++depth;
        } else if (line[j] == ')' && --depth == 0) {
          break;
        }
      }
      if (j + 1 < line.size() && line[j + 1] == '?') i = j + 2;
      else { kept += line.substr(i, j + 1 - i); i = j + 1; }
    } else if (line.compare(i, 6, "until-") == 0) {
      size_t j = i + 6;
      while (j < line.size() && std::isdigit(static_cast<unsigned char>(line[j]))) ++j;
      if (j < line.size() && line[j] == '?') i = j + 1;
      else { kept += line.substr(i, j - i); i = j; }
    } else {
      kept.push_back(c);
      ++i;
    }
  }
  return grammar.replace(start, end - start, kept);
}

std::vector<common_chat_msg> ToCommon(const std::vector<ChatMessage>& messages) {
  std::vector<common_chat_msg> out;
  out.reserve(messages.size());
  for (const ChatMessage& m : messages) {
    common_chat_msg msg;
    msg.role = m.role;
    msg.content = m.content;
    msg.reasoning_content = m.reasoning_content;
    msg.tool_call_id = m.tool_call_id;
    msg.tool_name = m.name;
    for (const ToolCall& call : m.tool_calls) msg.tool_calls.push_back({call.name, call.arguments, call.id});
    out.push_back(std::move(msg));
  }
  return out;
}

class CommonJinjaChat final : public JinjaChat {
 public:
  CommonJinjaChat(common_chat_templates_ptr templates, bool own)
      : templates_(std::move(templates)), own_(own) {
    auto caps = common_chat_templates_get_caps(templates_.get());
    supports_tools_ = caps["supports_tools"] && caps["supports_tool_calls"];
  }

  bool has_own_template() const override { return own_; }
  bool supports_tools() const override { return supports_tools_; }

  Result<ChatRendering> Render(const GenerateRequest& request) const override {
    common_chat_templates_inputs inputs;
    inputs.messages = ToCommon(request.messages);
    inputs.use_jinja = true;
    inputs.add_generation_prompt = true;
    inputs.reasoning_format = COMMON_REASONING_FORMAT_AUTO;
    const bool with_tools = !request.tools.empty() && request.tool_choice != ToolChoice::kNone;
    if (!request.tools.empty() && request.tool_choice == ToolChoice::kNone && supports_tools_) {
      // As llama-server: the model still sees the tools (the chat may be about them), but
      // nothing constrains or parses a call.
      for (const ToolSpec& tool : request.tools)
        inputs.tools.push_back({tool.name, tool.description, tool.parameters});
      inputs.tool_choice = COMMON_CHAT_TOOL_CHOICE_NONE;
    }
    if (with_tools) {
      if (!supports_tools_) {
        return InvalidArgumentError("'tools': this model's chat template cannot render tools (set "
                                    "the alias's options.chat_template to one that can)");
      }
      bool found = request.tool_choice != ToolChoice::kNamed;
      for (const ToolSpec& tool : request.tools) {
        if (request.tool_choice == ToolChoice::kNamed && tool.name != request.tool_name) continue;
        found = true;
        inputs.tools.push_back({tool.name, tool.description, tool.parameters});
      }
      if (!found) {
        return InvalidArgumentError("'tool_choice': no tool named '" + request.tool_name + "'");
      }
      inputs.tool_choice = request.tool_choice == ToolChoice::kAuto ? COMMON_CHAT_TOOL_CHOICE_AUTO
                                                                    : COMMON_CHAT_TOOL_CHOICE_REQUIRED;
      inputs.parallel_tool_calls = request.parallel_tool_calls;
      // As CallsOnly below: a required call comes at once, without thinking first (a thinking
      // block is free text, which a model may never close).
      if (inputs.tool_choice == COMMON_CHAT_TOOL_CHOICE_REQUIRED) inputs.enable_thinking = false;
    }
    common_chat_params params;
    try {
      params = common_chat_templates_apply(templates_.get(), inputs);
    } catch (const std::exception& e) {
      return InvalidArgumentError(std::string("the chat template cannot render this request: ") + e.what());
    }
    ChatRendering out;
    out.prompt = std::move(params.prompt);
    if (with_tools && !params.grammar.empty()) {
      out.grammar = inputs.tool_choice == COMMON_CHAT_TOOL_CHOICE_REQUIRED ? CallsOnly(params.grammar)
                                                                           : params.grammar;
      out.grammar_lazy = params.grammar_lazy;
      const bool required = inputs.tool_choice == COMMON_CHAT_TOOL_CHOICE_REQUIRED;
      if (!out.grammar_lazy &&
          !DropLeadingLiteral(&out.grammar, params.generation_prompt, /*only_whole=*/!required))
        out.grammar_prefill = params.generation_prompt;
      for (const common_grammar_trigger& t : params.grammar_triggers) {
        switch (t.type) {
          case COMMON_GRAMMAR_TRIGGER_TYPE_TOKEN: out.trigger_tokens.push_back(t.token); break;
          case COMMON_GRAMMAR_TRIGGER_TYPE_WORD: out.trigger_patterns.push_back(regex_escape(t.value)); break;
          case COMMON_GRAMMAR_TRIGGER_TYPE_PATTERN: out.trigger_patterns.push_back(t.value); break;
          case COMMON_GRAMMAR_TRIGGER_TYPE_PATTERN_FULL: {
            const std::string& p = t.value;
            out.trigger_patterns.push_back(p.empty() ? "^$"
                                                     : (p.front() != '^' ? "^" : "") + p +
                                                           (p.back() != '$' ? "$" : ""));
            break;
          }
        }
      }
      out.preserved_tokens = params.preserved_tokens;
    }
    out.additional_stops = params.additional_stops;
    if (!with_tools && !params.supports_thinking) return out;
    common_chat_parser_params parser(params);
    parser.reasoning_format = COMMON_REASONING_FORMAT_AUTO;  // thinking apart from content
    parser.parse_tool_calls = with_tools;
    try {
      if (!params.parser.empty()) parser.parser.load(params.parser);
    } catch (const std::exception& e) {
      return InternalError(std::string("llama.cpp's reply parser did not load: ") + e.what());
    }
    out.parser = std::make_shared<CommonReplyParser>(std::move(parser));
    return out;
  }

 private:
  common_chat_templates_ptr templates_;
  const bool own_;
  bool supports_tools_ = false;
};

}  // namespace

Result<std::shared_ptr<const JinjaChat>> JinjaChat::Create(const llama_model* model,
                                                           const std::string& override_template) {
  try {
    common_chat_templates_ptr templates = common_chat_templates_init(model, override_template);
    if (!templates) return InvalidArgumentError("options.chat_template: llama.cpp cannot parse it");
    const bool own = common_chat_templates_was_explicit(templates.get());
    return std::shared_ptr<const JinjaChat>(std::make_shared<CommonJinjaChat>(std::move(templates), own));
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("chat template: llama.cpp cannot parse it: ") + e.what());
  }
}

}  // namespace modelrt::llama
