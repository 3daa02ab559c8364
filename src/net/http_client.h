// HttpClient: the one asynchronous HTTP/1.1 client that remote providers share. Calls run on the
// client's own event loop (Asio, a fixed number of threads, 1 by default), so a call in flight
// holds a socket and a few small buffers, never a thread: a thousand slow streams cost a
// thousand sockets. Connections are kept alive and reused per host (and proxy); TLS is verified
// against the system's CA store (plus an optional extra bundle) with SNI and host-name checks;
// proxies come from the environment as curl reads them (net/url.h); an https URL through a proxy
// is tunnelled with CONNECT.
//
//   auto client = HttpClient::Shared();
//   client->Fetch({.method = "POST", .url = url, .headers = {{"authorization", key}}, .body = b},
//                 {.deadline = ctx.deadline, .cancel = ctx.cancel},
//                 [](Result<HttpResponse> r) { ... on the client's thread: keep it short ... });
//
// Streams get their body as it arrives: `on_head` once, `on_data` per chunk (return false to stop
// reading: the connection is closed, `on_done` gets OK), then `on_done` exactly once. Errors are
// Status values: Unavailable for connection, TLS and protocol failures (retryable), and
// DeadlineExceeded for the call's deadline or one of its phase timeouts (connect, first byte,
// idle between chunks), each message naming the phase, Cancelled when the CallContext's signal
// fires (the socket is closed at once, which cancels the upstream request too), ResourceExhausted
// for a body over max_body_bytes. An HTTP error status is not an error here: it is a response.
//
// A request that fails on a reused keep-alive connection before any byte of the answer arrived is
// sent once more on a new connection (the server closed the idle connection as we reused it).
//
// Thread-safety: thread-safe. Callbacks run on the client's loop threads and must not block.
// A client must outlive its calls; Shared() lives for the whole process.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modelrt/model.h"
#include "modelrt/status.h"
#include "net/url.h"

namespace modelrt::net {

struct HttpHeader {
  std::string name;
  std::string value;
};

// Case-insensitive lookup of the first header called `name`.
std::optional<std::string_view> FindHeader(const std::vector<HttpHeader>& headers,
                                           std::string_view name);

struct HttpRequest {
  std::string method = "POST";
  Url url;
  // The client adds Host, Content-Length, Connection and (unless set here) User-Agent.
  std::vector<HttpHeader> headers;
  std::string body;
};

struct HttpResponseHead {
  int status = 0;
  std::vector<HttpHeader> headers;
  std::optional<std::string_view> Header(std::string_view name) const {
    return FindHeader(headers, name);
  }
};

struct HttpResponse {
  HttpResponseHead head;
  std::string body;
};

struct HttpCallOptions {
  Clock::time_point deadline = Clock::time_point::max();  // covers the whole call
  std::chrono::milliseconds connect_timeout{10'000};      // resolve + TCP + proxy + TLS
  std::chrono::milliseconds first_byte_timeout{0};  // request sent -> answer's head; 0 = none
  std::chrono::milliseconds idle_timeout{0};        // between body chunks; 0 = none
  int64_t max_body_bytes = int64_t{64} << 20;
  std::shared_ptr<CancelSignal> cancel;  // may be null
};

struct HttpStreamHandlers {
  std::function<void(const HttpResponseHead&)> on_head;
  std::function<bool(std::string_view chunk)> on_data;
  std::function<void(Status)> on_done;
};

using HttpDone = std::function<void(Result<HttpResponse>)>;

class HttpClient {
 public:
  struct Options {
    int threads = 1;
    int max_idle_per_host = 64;                         // kept-alive connections per host
    std::chrono::milliseconds keep_alive{30'000};       // an idle connection older is dropped
    std::string ca_file;                                // trusted as well as the system store
    // Proxy settings (HTTPS_PROXY, NO_PROXY, ...); empty = the process environment.
    std::function<std::optional<std::string>(const char*)> env;
  };
  struct Stats {
    int64_t connections_opened = 0;
    int64_t connections_reused = 0;
    int64_t idle_connections = 0;
    int64_t calls_in_flight = 0;
  };

  // The process-wide client (one loop thread), created on first use and never destroyed.
  static std::shared_ptr<HttpClient> Shared();
  // A client of its own (tests; a provider with its own CA bundle). InvalidArgument for an
  // unreadable ca_file.
  static Result<std::shared_ptr<HttpClient>> Create(Options options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  void Stream(HttpRequest request, HttpCallOptions options, HttpStreamHandlers handlers);
  // Stream, collecting the body.
  void Fetch(HttpRequest request, HttpCallOptions options, HttpDone done);
  // Runs `fn` on the loop once `delay` has passed, or at once (still on the loop) when `cancel`
  // fires first: how a retry waits without a thread.
  void RunAfter(std::chrono::milliseconds delay, std::shared_ptr<CancelSignal> cancel,
                std::function<void()> fn);

  Stats stats() const;

  struct Impl;

 private:
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace modelrt::net
