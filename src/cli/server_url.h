// Where the CLI finds a running modelrt server: "http://host[:port][/prefix]" split into the
// parts a socket needs. Only http:// is supported (the server speaks plain HTTP; put a TLS
// proxy in front of it and point the CLI at the proxy's plain side, or use an SSH tunnel).
//
//   MODELRT_ASSIGN_OR_RETURN(ServerUrl url, ParseServerUrl("http://127.0.0.1:8080"));
//   // url.host == "127.0.0.1", url.port == 8080, url.Target("/admin/models") == "/admin/models"
//
// Thread-safety: value types and pure functions.
#pragma once

#include <string>
#include <string_view>

#include "modelrt/status.h"

namespace modelrt::cli {

inline constexpr std::string_view kDefaultServerUrl = "http://127.0.0.1:8080";

struct ServerUrl {
  std::string host;    // a name, an IPv4 address or an IPv6 address without brackets
  int port = 80;       // 1..65535; 80 when the URL names none
  std::string prefix;  // a path the server is mounted under ("" or "/x", never a trailing '/')
  std::string text;    // the URL as given (minus trailing '/'), for messages

  // The request target for an API path ("/admin/models") under the prefix.
  std::string Target(std::string_view path) const { return prefix + std::string(path); }
  // "host:port" for the Host header (IPv6 addresses in brackets).
  std::string HostHeader() const;
};

// InvalidArgument naming what is wrong: an unsupported scheme (https://), a missing host, a port
// that is not a number in 1..65535, a query or fragment, user info ("user@host").
Result<ServerUrl> ParseServerUrl(std::string_view url);

// Percent-encodes everything but RFC 3986 unreserved characters, so an alias or provider id
// is always one path segment ("a/b" -> "a%2Fb").
std::string EscapePathSegment(std::string_view segment);

}  // namespace modelrt::cli
