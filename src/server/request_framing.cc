#include "server/request_framing.h"

#include "server/http_message.h"

namespace modelrt::server {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits a comma-separated field value into its trimmed, non-empty elements.
std::vector<std::string_view> ListElements(std::string_view value) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t comma = value.find(',', pos);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view element = Trim(value.substr(pos, comma - pos));
    if (!element.empty()) out.push_back(element);
    pos = comma + 1;
  }
  return out;
}

FramingError Bad(std::string message, int status = 400) { return {status, std::move(message)}; }

}  // namespace

size_t FindHeaderEnd(std::string_view bytes) {
  for (size_t i = bytes.find('\n'); i != std::string_view::npos; i = bytes.find('\n', i + 1)) {
    if (i + 1 < bytes.size() && bytes[i + 1] == '\n') return i + 2;
    if (i + 2 < bytes.size() && bytes[i + 1] == '\r' && bytes[i + 2] == '\n') return i + 3;
  }
  return std::string_view::npos;
}

std::optional<FramingError> CheckRawHeader(std::string_view header) {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] != '\n') continue;
    if (i == 0 || header[i - 1] != '\r') {
      return Bad("malformed HTTP request: a line ends in a bare LF (CRLF is required)");
    }
    if (i + 1 < header.size() && (header[i + 1] == ' ' || header[i + 1] == '\t')) {
      return Bad("malformed HTTP request: obsolete line folding (obs-fold) in the header");
    }
  }
  return std::nullopt;
}

std::optional<FramingError> CheckFraming(
    const std::vector<std::pair<std::string_view, std::string_view>>& fields, bool http_11) {
  std::vector<std::string_view> codings;
  bool has_transfer_encoding = false;
  int content_lengths = 0;
  int hosts = 0;
  for (const auto& [name, value] : fields) {
    if (EqualsIgnoreCase(name, "Transfer-Encoding")) {
      has_transfer_encoding = true;
      for (std::string_view c : ListElements(value)) codings.push_back(c);
    } else if (EqualsIgnoreCase(name, "Content-Length")) {
      content_lengths += value.find(',') == std::string_view::npos ? 1 : 2;
    } else if (EqualsIgnoreCase(name, "Host")) {
      ++hosts;
    }
  }
  if (has_transfer_encoding) {
    if (codings.empty() || !EqualsIgnoreCase(codings.back(), "chunked")) {
      return Bad("malformed HTTP request: the final transfer coding must be 'chunked'");
    }
    for (size_t i = 0; i + 1 < codings.size(); ++i) {
      if (EqualsIgnoreCase(codings[i], "chunked")) {
        return Bad("malformed HTTP request: 'chunked' applied more than once");
      }
    }
    if (codings.size() > 1) {
      return Bad("transfer coding '" + std::string(codings.front()) + "' is not supported", 501);
    }
    if (content_lengths > 0) {
      return Bad("malformed HTTP request: both Transfer-Encoding and Content-Length");
    }
  }
  if (content_lengths > 1) {
    return Bad("malformed HTTP request: more than one Content-Length");
  }
  if (http_11 && hosts == 0) return Bad("malformed HTTP request: HTTP/1.1 requires a Host field");
  if (hosts > 1) return Bad("malformed HTTP request: more than one Host field");
  return std::nullopt;
}

std::string OriginForm(std::string_view target) {
  size_t colon = target.find("://");
  if (target.empty() || target.front() == '/' || colon == std::string_view::npos) {
    return std::string(target);
  }
  std::string_view scheme = target.substr(0, colon);
  if (!EqualsIgnoreCase(scheme, "http") && !EqualsIgnoreCase(scheme, "https")) {
    return std::string(target);
  }
  std::string_view rest = target.substr(colon + 3);
  size_t path = rest.find_first_of("/?");
  if (path == std::string_view::npos) return "/";
  if (rest[path] == '?') return "/" + std::string(rest.substr(path));
  return std::string(rest.substr(path));
}

}  // namespace modelrt::server
