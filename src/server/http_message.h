// Library-neutral HTTP request and response types: handlers see these, never Beast types, so
// they can be tested without sockets and the transport can change without touching them.
//
//   HttpResponse r = JsonResponse(200, Json{{"object", "list"}});
//   r.SetHeader("Retry-After", "1");
//   std::string_view auth = request.Header("authorization");
//
// Thread-safety: plain values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/ascii_case.h"  // EqualsIgnoreCase, for header names
#include "core/json.h"

namespace modelrt::server {

using Json = nlohmann::json;

// Header fields in arrival order; lookups ignore case.
class HttpHeaders {
 public:
  // The first value of `name`, or "" when absent.
  std::string_view Get(std::string_view name) const;
  bool Has(std::string_view name) const;
  // Replaces every field called `name` with one field.
  void Set(std::string name, std::string value);
  void Add(std::string name, std::string value);
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct HttpRequest {
  std::string method;  // GET, POST, ...
  std::string target;  // path with query, as sent
  std::string path;    // target without the query
  std::string query;   // after '?', undecoded
  HttpHeaders headers;
  std::string body;
  std::string remote;  // peer address, for logs

  std::string_view Header(std::string_view name) const { return headers.Get(name); }
};

struct HttpResponse {
  int status = 200;
  HttpHeaders headers;
  std::string body;
  // Returned by a handler that answers later through RequestContext::finish.
  bool later = false;
  static HttpResponse Later() {
    HttpResponse r;
    r.later = true;
    return r;
  }

  void SetHeader(std::string name, std::string value) {
    headers.Set(std::move(name), std::move(value));
  }
};

// A response whose body is `body` serialized, with Content-Type application/json.
HttpResponse JsonResponse(int status, const Json& body);
// A response with a text body and the given content type.
HttpResponse TextResponse(int status, std::string body, std::string content_type);

// "%2F" -> "/" (and '+' -> ' ' when `plus_is_space`, as in query strings); malformed escapes are
// kept as written.
std::string PercentDecode(std::string_view s, bool plus_is_space = false);
// The decoded value of `name` in a query string ("a=1&policy=cascade"); nullopt when absent.
std::optional<std::string> QueryParam(std::string_view query, std::string_view name);

}  // namespace modelrt::server
