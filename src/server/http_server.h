// HttpServer: the `modelrt serve` HTTP front end over a ModelRuntime — OpenAI-compatible
// embeddings, chat and completions (with SSE), rerank in three shapes, model listing, health,
// readiness and Prometheus metrics; over a ControlPlane also the admin API (/admin, its own key)
// with profiles that follow the registry. Boost.Beast on a few I/O threads; model calls run on a
// BlockingExecutor so slow models never stall the listener.
//
//   MODELRT_ASSIGN_OR_RETURN(auto server, HttpServer::Create(runtime, config));  // listening now
//   MODELRT_ASSIGN_OR_RETURN(auto server, HttpServer::Create(control, config));  // + /admin
//   std::cout << server->port();
//   server->Shutdown(std::chrono::seconds(config.server.drain_grace_s));
//
// Shutdown drains: it stops accepting, closes idle connections, waits up to `grace` for the
// requests in flight to finish (their responses are written), cancels what is still running,
// then stops the threads.
//
// Thread-safety: port()/address() from any thread; Shutdown from one thread (idempotent). The
// runtime (or control plane) must outlive the server.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "control/control_plane.h"
#include "modelrt/catalog.h"
#include "modelrt/runtime.h"
#include "modelrt/status.h"

namespace modelrt::server {

class HttpServer {
 public:
  // Binds config.server.host:port (port 0 = any free port), reads the API keys and starts
  // serving. Errors: Unavailable when the address cannot be bound, InvalidArgument for an
  // unreadable key file or a host that does not resolve.
  static Result<std::unique_ptr<HttpServer>> Create(ModelRuntime& runtime, const Config& config);
  // The same over control.runtime(), with the admin API (the admin key from config.server) and
  // profiles from control.registry(). InvalidArgument also for an unreadable admin key file.
  static Result<std::unique_ptr<HttpServer>> Create(control::ControlPlane& control,
                                                    const Config& config);

  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;
  // "127.0.0.1:8080"
  std::string address() const;
  // Requests in flight right now.
  int64_t in_flight() const;

  void Shutdown(std::chrono::milliseconds grace);

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  static Result<std::unique_ptr<HttpServer>> Start(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace modelrt::server
