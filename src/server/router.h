// Router: maps a method and a path to a handler. Patterns are literal segments or `{name}`
// captures matching one non-empty segment:
//
//   router.Add("GET", "/v1/models/{id}", handler, {.auth = true});
//   RouteMatch m = router.Match("GET", "/v1/models/chat");   // m.route->pattern, m.params["id"]
//
// A path that matches some pattern under another method is a 405, none at all a 404. HEAD
// matches the GET routes.
//
// Thread-safety: Add before serving; Match is then safe from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "server/http_message.h"
#include "server/request_context.h"

namespace modelrt::server {

using Handler = std::function<HttpResponse(const HttpRequest&, RequestContext&)>;

struct RouteOptions {
  // Needs an API key when keys are configured.
  bool auth = true;
  // Needs the admin key instead (API keys do not open it); `auth` is then ignored.
  bool admin = false;
  // Fast and non-blocking: may run on the I/O thread. Model calls never are.
  bool inline_ok = false;
  // Hands its work to an engine and answers later (HttpResponse::Later): it blocks only while a
  // cold model loads, so it runs on the small dispatch pool, not on a thread that waits with it.
  bool answers_later = false;
  // The largest body this route reads (uploads); 0 = server.max_body_bytes.
  int64_t max_body_bytes = 0;
};

struct Route {
  std::string method;
  std::string pattern;
  Handler handler;
  RouteOptions options;
  std::vector<std::string> segments;  // pattern split on '/'
};

struct RouteMatch {
  enum class Kind { kFound, kNotFound, kMethodNotAllowed };
  Kind kind = Kind::kNotFound;
  const Route* route = nullptr;
  std::map<std::string, std::string> params;
};

class Router {
 public:
  void Add(std::string method, std::string pattern, Handler handler, RouteOptions options = {});
  RouteMatch Match(std::string_view method, std::string_view path) const;

 private:
  static bool MatchSegments(const Route& route, const std::vector<std::string_view>& parts,
                            std::map<std::string, std::string>* params);
  std::vector<Route> routes_;
};

}  // namespace modelrt::server
