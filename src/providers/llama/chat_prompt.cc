#include "providers/llama/chat_prompt.h"

#include <cctype>

#include "core/logging.h"

namespace modelrt::llama {

ChatPrompt::ChatPrompt(const llama_model* model, std::string override_template)
    : template_(std::move(override_template)), is_override_(!template_.empty()) {
  if (template_.empty()) {
    const char* own = llama_model_chat_template(model, nullptr);
    if (own) template_ = own;
  }
  std::string probe;
  template_works_ = !template_.empty() && Apply({{"user", "hi"}}, &probe);
  if (!template_.empty() && !template_works_ && !is_override_)
    Log("llama")->warn("chat template of the model is not supported by llama.cpp; using a plain "
                       "transcript");
}

Status ChatPrompt::Validate() const {
  if (is_override_ && !template_works_)
    return InvalidArgumentError("options.chat_template: llama.cpp cannot apply this template "
                                "(use a built-in name such as chatml, llama3, mistral-v7)");
  return OkStatus();
}

std::string ChatPrompt::Render(const std::vector<ChatMessage>& messages) const {
  std::string out;
  if (template_works_ && Apply(messages, &out)) return out;
  return Plain(messages);
}

bool ChatPrompt::Apply(const std::vector<ChatMessage>& messages, std::string* out) const {
  std::vector<llama_chat_message> chat;
  chat.reserve(messages.size());
  size_t chars = 0;
  for (const auto& m : messages) {
    chat.push_back({m.role.c_str(), m.content.c_str()});
    chars += m.role.size() + m.content.size();
  }
  out->resize(2 * chars + 256);
  int32_t n = llama_chat_apply_template(template_.c_str(), chat.data(), chat.size(), true,
                                        out->data(), static_cast<int32_t>(out->size()));
  if (n < 0) return false;
  if (static_cast<size_t>(n) > out->size()) {
    out->resize(n);
    n = llama_chat_apply_template(template_.c_str(), chat.data(), chat.size(), true, out->data(),
                                  static_cast<int32_t>(out->size()));
    if (n < 0) return false;
  }
  out->resize(n);
  return true;
}

std::string ChatPrompt::Plain(const std::vector<ChatMessage>& messages) {
  // "System: ...\nUser: ...\nAssistant:" reads like the dialogue such models saw in training.
  std::string out;
  for (const auto& m : messages) {
    std::string role = m.role.empty() ? "user" : m.role;
    role[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(role[0])));
    out += role + ": " + m.content + "\n";
  }
  out += "Assistant:";
  return out;
}

}  // namespace modelrt::llama
