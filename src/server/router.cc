#include "server/router.h"

#include "server/http_message.h"

namespace modelrt::server {
namespace {

// "/v1/models/x" -> {"v1", "models", "x"}; a trailing slash is ignored.
std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    parts.push_back(path.substr(pos, end - pos));
    pos = end;
  }
  return parts;
}

}  // namespace

void Router::Add(std::string method, std::string pattern, Handler handler, RouteOptions options) {
  Route route{std::move(method), std::move(pattern), std::move(handler), options, {}};
  for (std::string_view part : Split(route.pattern)) route.segments.emplace_back(part);
  routes_.push_back(std::move(route));
}

bool Router::MatchSegments(const Route& route, const std::vector<std::string_view>& parts,
                           std::map<std::string, std::string>* params) {
  if (route.segments.size() != parts.size()) return false;
  std::map<std::string, std::string> captured;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& seg = route.segments[i];
    if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
      captured[seg.substr(1, seg.size() - 2)] = PercentDecode(parts[i]);
    } else if (seg != parts[i]) {
      return false;
    }
  }
  *params = std::move(captured);
  return true;
}

RouteMatch Router::Match(std::string_view method, std::string_view path) const {
  RouteMatch match;
  std::vector<std::string_view> parts = Split(path);
  for (const Route& route : routes_) {
    std::map<std::string, std::string> params;
    if (!MatchSegments(route, parts, &params)) continue;
    // HEAD is served wherever GET is (RFC 9110 §9.3.2); the session drops the body.
    if (route.method == method || (method == "HEAD" && route.method == "GET")) {
      match.kind = RouteMatch::Kind::kFound;
      match.route = &route;
      match.params = std::move(params);
      return match;
    }
    match.kind = RouteMatch::Kind::kMethodNotAllowed;
  }
  return match;
}

}  // namespace modelrt::server
