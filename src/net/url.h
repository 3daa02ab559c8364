// Upstream URLs and the proxy that reaches them. A provider's base_url is parsed once (errors name
// what is wrong); each call joins its API path onto it. Proxies come from the environment as
// curl reads them: HTTPS_PROXY/https_proxy for https, http_proxy (lowercase only: HTTP_PROXY can be
// set by a CGI request header) for http, ALL_PROXY/all_proxy for both, and NO_PROXY/no_proxy to
// bypass ("*", domains matching themselves and their subdomains, IPv4 addresses and CIDR blocks,
// an optional ":port"). Loopback (localhost, 127.0.0.0/8, ::1) always goes direct.
//
//   MODELRT_ASSIGN_OR_RETURN(Url base, ParseUrl("https://api.openai.com/v1"));
//   Url call = base.WithPath("/embeddings");         // target "/v1/embeddings", port 443
//   std::optional<Url> proxy = ProxyFor(call, GetEnv);
//
// Thread-safety: free functions over values; safe from any thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "modelrt/status.h"

namespace modelrt::net {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // lower-cased; an IPv6 address without its brackets
  int port = 0;        // the scheme's default when the URL has none
  std::string target;  // path and query, "/" at least

  bool tls() const { return scheme == "https"; }
  // "host:port" (IPv6 in brackets), as a Host header omits a default port.
  std::string HostHeader() const;
  std::string ToString() const;
  // This URL with `path` ("/embeddings", may carry a query) appended to its own path.
  Url WithPath(std::string_view path) const;
};

// http:// and https:// only. InvalidArgument naming the problem: another scheme, no host, a bad
// port, user:password@ (a secret in a URL would be logged; use api_key_env), a fragment.
Result<Url> ParseUrl(std::string_view text);

// Whether NO_PROXY's value says to reach `url` directly.
bool BypassesProxy(const Url& url, std::string_view no_proxy);

// The proxy for `url` from the environment (`env` returns a variable or nullopt), or nullopt
// for a direct connection. A proxy URL without a scheme is taken as http://.
std::optional<Url> ProxyFor(const Url& url,
                            const std::function<std::optional<std::string>(const char*)>& env);

}  // namespace modelrt::net
