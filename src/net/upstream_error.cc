#include "net/upstream_error.h"

#include "core/json.h"
#include "net/retry_hints.h"

namespace modelrt::net {

namespace {

constexpr size_t kMaxMessageBytes = 500;

std::string Clip(std::string_view text) {
  if (text.size() <= kMaxMessageBytes) return std::string(text);
  // Cut on a UTF-8 boundary: never leave half a character.
  size_t end = kMaxMessageBytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end)) + "...";
}

std::string StringField(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();
  return "";
}

// Gemini's RetryInfo inside error.details.
std::optional<std::chrono::milliseconds> GoogleRetryDelay(const Json& error) {
  auto details = error.find("details");
  if (details == error.end() || !details->is_array()) return std::nullopt;
  for (const Json& detail : *details) {
    if (!detail.is_object()) continue;
    const std::string type = StringField(detail, "@type");
    if (!type.ends_with("google.rpc.RetryInfo")) continue;
    if (auto delay = ParseProtoDuration(StringField(detail, "retryDelay"))) return delay;
  }
  return std::nullopt;
}

void ReadBody(const Json& body, UpstreamError* out) {
  if (!body.is_object()) return;
  auto error = body.find("error");
  if (error != body.end() && error->is_object()) {  // OpenAI, Anthropic, Gemini
    out->message = StringField(*error, "message");
    out->type = StringField(*error, "type");
    if (out->type.empty()) out->type = StringField(*error, "status");  // Gemini
    if (out->type.empty()) out->type = StringField(*error, "code");
    if (!out->retry_after) out->retry_after = GoogleRetryDelay(*error);
    return;
  }
  if (error != body.end() && error->is_string()) {  // Ollama, TEI
    out->message = error->get<std::string>();
    out->type = StringField(body, "error_type");
    return;
  }
  for (const char* key : {"message", "detail"}) {  // Cohere, Voyage, Jina, FastAPI servers
    auto it = body.find(key);
    if (it == body.end()) continue;
    out->message = it->is_string() ? it->get<std::string>() : it->dump();
    out->type = StringField(body, "type");
    return;
  }
}

// A body that is not JSON: an HTML error page's <title> ("502 Bad Gateway" from a proxy), else
// the first non-blank line.
std::string PlainTextMessage(std::string_view body, int http_status) {
  if (size_t open = body.find("<title>"); open != std::string_view::npos) {
    const size_t from = open + 7;
    const size_t close = body.find("</title>", from);
    if (close != std::string_view::npos && close > from) {
      return std::string(body.substr(from, close - from));
    }
  }
  size_t start = body.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return "HTTP " + std::to_string(http_status);
  std::string_view rest = body.substr(start);
  return std::string(rest.substr(0, rest.find_first_of("\r\n")));
}

}  // namespace

UpstreamError ParseUpstreamError(
    int http_status, std::string_view body,
    const std::function<std::optional<std::string_view>(std::string_view name)>& header,
    std::chrono::system_clock::time_point now) {
  UpstreamError out;
  out.http_status = http_status;
  out.retryable = IsRetryableStatus(http_status);
  out.auth_failed = http_status == 401 || http_status == 403;
  out.retry_after = UpstreamRetryDelay(header, now);
  Json parsed = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded()) ReadBody(parsed, &out);
  if (out.message.empty()) out.message = PlainTextMessage(body, http_status);
  out.message = Clip(out.message);
  return out;
}

}  // namespace modelrt::net
