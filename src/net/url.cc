#include "net/url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>

#include "core/ascii_trim.h"

namespace modelrt::net {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::optional<uint32_t> ParseIpv4(std::string_view text) {
  in_addr addr{};
  if (inet_pton(AF_INET, std::string(text).c_str(), &addr) != 1) return std::nullopt;
  return ntohl(addr.s_addr);
}

// The URL with any user:password@ replaced, so that an error never carries a credential.
std::string Redacted(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t from = scheme == std::string_view::npos ? 0 : scheme + 3;
  const size_t authority_end = url.find_first_of("/?#", from);
  const size_t at = url.substr(0, authority_end).rfind('@');
  if (at == std::string_view::npos || at < from) return std::string(url);
  return std::string(url.substr(0, from)) + "***" + std::string(url.substr(at));
}

// One NO_PROXY entry against a host (lower case) and port.
bool EntryMatches(std::string_view entry, const Url& url) {
  entry = TrimAsciiSpace(entry);
  if (entry.empty()) return false;
  if (entry == "*") return true;
  // An optional ":port" (not inside an IPv6 address, which has several colons).
  if (size_t colon = entry.rfind(':');
      colon != std::string_view::npos && entry.find(':') == colon && entry.front() != '[') {
    int port = 0;
    auto [end, error] =
        std::from_chars(entry.data() + colon + 1, entry.data() + entry.size(), port);
    if (error != std::errc() || end != entry.data() + entry.size()) return false;
    if (port != url.port) return false;
    entry = entry.substr(0, colon);
  }
  if (entry.front() == '[' && entry.back() == ']') entry = entry.substr(1, entry.size() - 2);
  const std::string want = Lower(entry);
  // CIDR: "10.0.0.0/8" matches IPv4 hosts in the block.
  if (size_t slash = want.find('/'); slash != std::string::npos) {
    std::optional<uint32_t> net = ParseIpv4(std::string_view(want).substr(0, slash));
    std::optional<uint32_t> host = ParseIpv4(url.host);
    int bits = -1;
    std::from_chars(want.data() + slash + 1, want.data() + want.size(), bits);
    if (!net || !host || bits < 0 || bits > 32) return false;
    const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
    return (*net & mask) == (*host & mask);
  }
  std::string_view domain = want;
  if (domain.front() == '.') domain.remove_prefix(1);
  if (url.host == domain) return true;
  // A domain matches its subdomains: "example.com" covers "api.example.com", not "badexample.com".
  return url.host.size() > domain.size() && url.host.ends_with(domain) &&
         url.host[url.host.size() - domain.size() - 1] == '.';
}

}  // namespace

std::string Url::HostHeader() const {
  const bool default_port = (tls() && port == 443) || (!tls() && port == 80);
  std::string host_text = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return default_port ? host_text : host_text + ":" + std::to_string(port);
}

std::string Url::ToString() const {
  std::string host_text = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return scheme + "://" + host_text + ":" + std::to_string(port) + target;
}

Url Url::WithPath(std::string_view path) const {
  Url out = *this;
  std::string base = target;
  std::string query;
  if (size_t q = base.find('?'); q != std::string::npos) {  // keep the base's query last
    query = base.substr(q + 1);
    base.resize(q);
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string add(path);
  if (!add.empty() && add.front() != '/') add.insert(add.begin(), '/');
  out.target = base + add;
  if (out.target.empty()) out.target = "/";
  if (!query.empty()) out.target += (out.target.find('?') == std::string::npos ? "?" : "&") + query;
  return out;
}

Result<Url> ParseUrl(std::string_view text) {
  const std::string_view original = TrimAsciiSpace(text);
  std::string_view s = original;
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError("URL '" + Redacted(original.substr(0, 200)) +
                                "': " + std::string(why));
  };
  const size_t scheme_end = s.find("://");
  if (scheme_end == std::string_view::npos) return bad("must start with http:// or https://");
  Url url;
  url.scheme = Lower(s.substr(0, scheme_end));
  if (url.scheme != "http" && url.scheme != "https") {
    return bad("scheme must be http or https (got '" + url.scheme + "')");
  }
  s.remove_prefix(scheme_end + 3);
  if (s.find('#') != std::string_view::npos) return bad("must not have a fragment (#...)");
  const size_t authority_end = s.find_first_of("/?");
  std::string_view authority = s.substr(0, authority_end);
  url.target = authority_end == std::string_view::npos ? "/" : std::string(s.substr(authority_end));
  if (url.target.front() == '?') url.target.insert(url.target.begin(), '/');
  if (authority.find('@') != std::string_view::npos) {
    return bad("must not carry credentials (user:password@); use api_key_env or api_key_file");
  }
  std::string_view port_text;
  if (authority.starts_with('[')) {  // IPv6: "[::1]:8080"
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '[' in the host");
    url.host = Lower(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("unexpected text after the IPv6 address");
      port_text = rest.substr(1);
    }
  } else {
    const size_t colon = authority.rfind(':');
    url.host = Lower(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) return bad("has no host");
  if (!std::all_of(url.host.begin(), url.host.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == ':';
      })) {
    return bad("host has characters a host name cannot have");
  }
  url.port = url.tls() ? 443 : 80;
  if (!port_text.empty()) {
    int port = 0;
    auto [end, error] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (error != std::errc() || end != port_text.data() + port_text.size() || port < 1 ||
        port > 65535) {
      return bad("port must be a number in [1, 65535]");
    }
    url.port = port;
  }
  if (std::any_of(url.target.begin(), url.target.end(),
                  [](unsigned char c) { return c <= ' ' || c == 0x7f; })) {
    return bad("path has spaces or control characters (percent-encode them)");
  }
  return url;
}

bool BypassesProxy(const Url& url, std::string_view no_proxy) {
  size_t start = 0;
  while (start <= no_proxy.size()) {
    size_t comma = no_proxy.find(',', start);
    if (comma == std::string_view::npos) comma = no_proxy.size();
    if (EntryMatches(no_proxy.substr(start, comma - start), url)) return true;
    start = comma + 1;
  }
  return false;
}

std::optional<Url> ProxyFor(const Url& url,
                            const std::function<std::optional<std::string>(const char*)>& env) {
  auto first = [&](std::initializer_list<const char*> names) -> std::optional<std::string> {
    for (const char* name : names) {
      std::optional<std::string> value = env(name);
      if (value && !TrimAsciiSpace(*value).empty()) return std::string(TrimAsciiSpace(*value));
    }
    return std::nullopt;
  };
  // Loopback never goes through a proxy (as Go's net/http does): a proxy cannot reach our
  // 127.0.0.1, and a local llama-server or Ollama must work with HTTPS_PROXY set for the rest.
  if (url.host == "localhost" || url.host == "::1" || url.host.rfind("127.", 0) == 0) {
    return std::nullopt;
  }
  if (std::optional<std::string> no_proxy = first({"NO_PROXY", "no_proxy"})) {
    if (BypassesProxy(url, *no_proxy)) return std::nullopt;
  }
  std::optional<std::string> proxy =
      url.tls() ? first({"HTTPS_PROXY", "https_proxy"}) : first({"http_proxy"});
  if (!proxy) proxy = first({"ALL_PROXY", "all_proxy"});
  if (!proxy) return std::nullopt;
  if (proxy->find("://") == std::string::npos) proxy = "http://" + *proxy;
  Result<Url> parsed = ParseUrl(*proxy);
  if (!parsed) return std::nullopt;
  return *parsed;
}

}  // namespace modelrt::net
