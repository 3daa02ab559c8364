// UpstreamCaller: one logical call to a remote provider, however many attempts it takes. It owns
// what every wire format shares: the deadline across attempts (the provider's timeout_s, or the
// caller's deadline when earlier), retries on connection errors, resets, timeouts of one attempt,
// 408, 429, 5xx and 529 (never another 4xx) with full-jitter backoff or the wait the upstream
// asked for, the circuit breaker of the provider and upstream model, and the mapping of upstream
// errors to ours:
//
//   upstream                     ours
//   401, 403                     UpstreamAuthFailed (502 upstream_auth_failed): our key is wrong
//   400, 413, 422                InvalidArgument (400) with the upstream's message
//   429 (retries spent)          ResourceExhausted (429 + Retry-After)
//   503, 529 (retries spent)     Unavailable (503 + Retry-After)
//   other 4xx/5xx, bad answers   UpstreamFailed (502 upstream_error)
//   unreachable                  UpstreamFailed, naming host and cause
//   deadline                     DeadlineExceeded (504)
//   breaker open                 Unavailable, saying when it lets a probe through
//
// When the wait an upstream asks for does not fit before the deadline, the call answers at once
// (429 or 503) instead of sleeping past it. Waits run on the HTTP client's timers: no thread.
//
//   auto sink = std::make_shared<CollectingSink>(max_bytes);
//   caller->Call(request, ctx, CallKind::kWhole, sink, [sink](Status s, const CallInfo& info) {
//     if (s.ok()) use(sink->body());
//   });
//
// Thread-safety: thread-safe; `done` runs once, on the HTTP client's thread (or the caller's, for
// what fails before a request is sent).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "modelrt/model.h"
#include "net/circuit_breaker.h"
#include "net/http_client.h"
#include "providers/remote/remote_settings.h"
#include "providers/remote/wire_format.h"

namespace modelrt::remote {

// Receives a 2xx answer's body.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // A 2xx answer begins (again, for each attempt that gets one: start over).
  virtual void Begin(const net::HttpResponseHead& head) {}
  // A chunk of it. Non-OK ends the call with that status.
  virtual Status Data(std::string_view chunk) = 0;
  // The reader has all it wants (a stream's last event): stop reading.
  virtual bool Enough() const { return false; }
  // Output has gone to the client: no more retries.
  virtual bool Committed() const { return false; }
};

// Collects a whole body, up to a limit.
class CollectingSink : public BodySink {
 public:
  void Begin(const net::HttpResponseHead&) override { body_.clear(); }
  Status Data(std::string_view chunk) override {
    body_.append(chunk);
    return OkStatus();
  }
  const std::string& body() const { return body_; }

 private:
  std::string body_;
};

struct CallInfo {
  int attempts = 0;
  int http_status = 0;             // of the last answer; 0 when none came
  std::string upstream_request_id;  // x-request-id / request-id of the last answer
};

enum class CallKind { kWhole, kStream };

class UpstreamCaller {
 public:
  UpstreamCaller(std::shared_ptr<net::HttpClient> client,
                 std::shared_ptr<const RemoteSettings> settings,
                 std::shared_ptr<const WireFormat> format, std::string upstream_model,
                 std::shared_ptr<net::CircuitBreaker> breaker);

  void Call(UpstreamRequest request, const CallContext& ctx, CallKind kind,
            std::shared_ptr<BodySink> sink,
            std::function<void(Status, const CallInfo&)> done) const;

  const net::CircuitBreaker& breaker() const { return *breaker_; }
  const RemoteSettings& settings() const { return *settings_; }

 private:
  struct Attempts;
  const std::shared_ptr<net::HttpClient> client_;
  const std::shared_ptr<const RemoteSettings> settings_;
  const std::shared_ptr<const WireFormat> format_;
  const std::string upstream_model_;
  const std::shared_ptr<net::CircuitBreaker> breaker_;
};

}  // namespace modelrt::remote
