// A small blocking HTTP/1.1 client for the admin API of a running `modelrt serve`: one request
// per connection over plain TCP (Boost.Beast), with a connect timeout and an overall timeout for
// sending the request and reading the answer (a load can take minutes, so the default is long).
// Never throws; every transport and protocol failure becomes a Status whose message is ready to
// show a person.
//
//   AdminClient client({.server = url, .admin_key = key});
//   MODELRT_ASSIGN_OR_RETURN(HttpAnswer models, client.Call("GET", "/admin/models"));
//   // models.json["data"][0]["alias"]; models.body is the server's text as received
//
// Errors of Call:
//   - no connection: Unavailable "cannot reach modelrt server at URL: Connection refused"
//   - connected but no complete answer: Unavailable "no complete answer from modelrt server at
//     URL: end of stream" (closed early, truncated, not HTTP), DeadlineExceeded on the timeout
//   - an HTTP error: "<the server's error.message> (HTTP 409)", the code mapped from the status
//     (404 NotFound, 409 FailedPrecondition, 400 InvalidArgument, 403 PermissionDenied, ...)
//   - a 2xx answer that is not JSON: Unknown, naming the first bytes of the body
//
// Thread-safety: const methods may be called from several threads at once (each call has its
// own connection and I/O context).
#pragma once

#include <chrono>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "cli/server_url.h"
#include "modelrt/status.h"

namespace modelrt::cli {

struct AdminClientOptions {
  // Where the server listens.
  ServerUrl server;
  // Sent as "Authorization: Bearer <key>"; empty sends no header (the server then answers 403).
  std::string admin_key;
  // Bounds resolving the host and opening the TCP connection.
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(10);
  // Bounds sending the request and reading the whole answer, i.e. how long a load may take.
  std::chrono::milliseconds timeout = std::chrono::seconds(600);
  // A larger answer is an error rather than an unbounded allocation.
  size_t max_body_bytes = size_t{64} << 20;
};

struct HttpAnswer {
  int status = 0;       // the HTTP status
  std::string body;     // as received
  nlohmann::json json;  // the parsed body (Call only; null for Exchange)
};

class AdminClient {
 public:
  explicit AdminClient(AdminClientOptions options) : options_(std::move(options)) {}
  AdminClient(const AdminClient&) = delete;
  AdminClient& operator=(const AdminClient&) = delete;

  // One request and its answer, whatever the status. `path` is the API path ("/admin/models"),
  // put under the URL's prefix. A non-empty `body` is sent as application/json. Errors: the
  // transport ones listed in the file comment.
  Result<HttpAnswer> Exchange(std::string_view method, std::string_view path,
                              std::string_view body = {}) const;

  // Exchange, then: a 2xx answer with a JSON body gives that answer with `json` set; any other
  // answer gives the error listed in the file comment.
  Result<HttpAnswer> Call(std::string_view method, std::string_view path,
                          const nlohmann::json* body = nullptr) const;

  const ServerUrl& server() const { return options_.server; }

 private:
  AdminClientOptions options_;
};

// The Status for a non-2xx answer: "<error.message> (HTTP <status>)" when the body is the
// server's JSON error, else the body's first line (or "no body") with the same suffix.
Status StatusFromHttpError(int status, std::string_view body);

}  // namespace modelrt::cli
