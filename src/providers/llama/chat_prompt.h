// Renders chat messages into a prompt with the model's chat template (llama.cpp's built-in
// template engine), or a plain "Role: content" transcript when the model has no template or
// llama.cpp does not know it.
//
//   ChatPrompt chat(model, options.chat_template);        // "" = the model's own template
//   MODELRT_RETURN_IF_ERROR(chat.Validate());              // a bad override fails at load
//   std::string prompt = chat.Render(request.messages);
//
// Thread-safety: immutable after construction; Render is thread-safe.
#pragma once

#include <string>
#include <vector>

#include "modelrt/model.h"
#include "modelrt/status.h"
#include "providers/llama/llama_common.h"

namespace modelrt::llama {

class ChatPrompt {
 public:
  // `override_template` is a template name llama.cpp knows ("chatml", "llama3", ...) or a
  // template text; empty means the model's own (GGUF tokenizer.chat_template).
  ChatPrompt(const llama_model* model, std::string override_template);

  // InvalidArgument when an override was given and llama.cpp cannot apply it (the model's own
  // template is allowed to fail: then the plain transcript is used).
  Status Validate() const;

  // The prompt for `messages`, ending where the assistant's reply starts.
  std::string Render(const std::vector<ChatMessage>& messages) const;

  // Whether rendered prompts come from a real template (special tokens to parse) rather than
  // the plain transcript.
  bool uses_template() const { return !template_.empty() && template_works_; }

 private:
  // Applies template_; false when llama.cpp does not support it.
  bool Apply(const std::vector<ChatMessage>& messages, std::string* out) const;
  static std::string Plain(const std::vector<ChatMessage>& messages);

  std::string template_;
  bool is_override_ = false;
  bool template_works_ = false;
};

}  // namespace modelrt::llama
