#include "cli/server_url.h"

#include <cctype>
#include <charconv>

namespace modelrt::cli {
namespace {

Status Invalid(std::string_view url, std::string_view why) {
  return InvalidArgumentError("invalid server URL '" + std::string(url) + "': " + std::string(why));
}

}  // namespace

std::string ServerUrl::HostHeader() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

Result<ServerUrl> ParseServerUrl(std::string_view url) {
  std::string_view rest = url;
  const size_t scheme_end = rest.find("://");
  if (scheme_end == std::string_view::npos) {
    return Invalid(url, "expected http://HOST[:PORT]");
  }
  std::string scheme(rest.substr(0, scheme_end));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme == "https") {
    return Invalid(url, "https is not supported; the server speaks plain http://");
  }
  if (scheme != "http") return Invalid(url, "only http:// is supported");
  rest.remove_prefix(scheme_end + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return Invalid(url, "a query or fragment is not allowed");
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);

  ServerUrl out;
  out.text = std::string(url);
  while (!out.text.empty() && out.text.back() == '/') out.text.pop_back();
  const size_t path_start = rest.find('/');
  std::string_view authority = rest.substr(0, path_start);
  if (path_start != std::string_view::npos) out.prefix = std::string(rest.substr(path_start));
  if (authority.find('@') != std::string_view::npos) {
    return Invalid(url, "user info is not allowed (the admin key comes from MODELRT_ADMIN_KEY)");
  }

  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return Invalid(url, "unclosed '[' in the host");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Invalid(url, "unexpected text after ']'");
      port_text = after.substr(1);
      if (port_text.empty()) return Invalid(url, "empty port");
    }
  } else {
    const size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return Invalid(url, "empty port");
    }
  }
  if (out.host.empty()) return Invalid(url, "missing host");
  if (!port_text.empty()) {
    int port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 ||
        port > 65535) {
      return Invalid(url, "port must be a number in 1..65535");
    }
    out.port = port;
  }
  return out;
}

std::string EscapePathSegment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : segment) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

}  // namespace modelrt::cli
