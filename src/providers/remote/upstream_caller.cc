#include "providers/remote/upstream_caller.h"

#include <random>

#include "net/retry_hints.h"
#include "net/upstream_error.h"

namespace modelrt::remote {

using std::chrono::milliseconds;

namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;

std::string Seconds(milliseconds wait) {
  return std::to_string((wait.count() + 999) / 1000) + " s";
}

// The error for an answer that failed for good.
Status MapAnswer(const net::UpstreamError& e, const std::string& who) {
  const std::string said = who + ": upstream answered " + std::to_string(e.http_status) +
                           (e.message.empty() ? "" : ": " + e.message);
  if (e.auth_failed) return UpstreamAuthFailedError(said + " (check the provider's key)");
  switch (e.http_status) {
    case 400:
    case 413:
    case 422:
      return InvalidArgumentError(said);
    case 429:
      return ResourceExhaustedError(said);
    case 503:
    case 529:
      return UnavailableError(said);
    default:
      return UpstreamFailedError(said);
  }
}

}  // namespace

struct UpstreamCaller::Attempts : std::enable_shared_from_this<Attempts> {
  std::shared_ptr<net::HttpClient> client;
  std::shared_ptr<const RemoteSettings> settings;
  std::shared_ptr<const WireFormat> format;
  std::shared_ptr<net::CircuitBreaker> breaker;
  std::string who;
  UpstreamRequest request;
  std::vector<net::HttpHeader> headers;  // after the credential's: provider, request, request id
  uint64_t token_generation = 0;         // of the token this attempt sent
  bool token_refreshed = false;
  CallContext ctx;
  CallKind kind = CallKind::kWhole;
  std::shared_ptr<BodySink> sink;
  std::function<void(Status, const CallInfo&)> done;
  Clock::time_point deadline;
  CallInfo info;
  // This attempt's answer.
  net::HttpResponseHead head;
  std::string error_body;
  std::optional<Status> sink_error;

  void Try() {
    ++info.attempts;
    if (ctx.cancelled()) return Done(CancelledError(who + ": cancelled"));
    const auto now = Clock::now();
    if (now >= deadline) return Done(DeadlineExceededError(who + ": deadline exceeded"));
    if (breaker && !breaker->Allow(now)) {
      return Done(UnavailableError(who + ": circuit open after repeated upstream failures; next "
                                         "try in " + Seconds(breaker->RetryIn(now))));
    }
    head = {};
    error_body.clear();
    sink_error.reset();
    // The credential is read per attempt: a token may have been refreshed since the last one.
    std::string credential = settings->api_key;
    if (settings->token) {
      TokenSource::Token token = settings->token->Current();
      credential = std::move(token.value);
      token_generation = token.generation;
    }
    std::vector<net::HttpHeader> all = format->BaseHeaders(credential);
    all.insert(all.end(), headers.begin(), headers.end());
    net::HttpRequest http{.method = request.method,
                          .url = settings->base.WithPath(request.path),
                          .headers = std::move(all),
                          .body = request.body};
    net::HttpCallOptions options{.deadline = deadline,
                                 .connect_timeout = settings->connect_timeout,
                                 .cancel = ctx.cancel};
    if (kind == CallKind::kStream) {
      options.first_byte_timeout = settings->first_token_timeout;
      options.idle_timeout = settings->stream_idle_timeout;
    }
    auto self = shared_from_this();
    net::HttpStreamHandlers handlers;
    handlers.on_head = [self](const net::HttpResponseHead& h) {
      self->head = h;
      self->info.http_status = h.status;
      for (const char* name : {"x-request-id", "request-id"}) {
        if (auto id = h.Header(name)) {
          self->info.upstream_request_id = std::string(*id);
          break;
        }
      }
      if (h.status / 100 == 2) self->sink->Begin(h);
    };
    handlers.on_data = [self](std::string_view chunk) {
      if (self->head.status / 100 != 2) {
        if (self->error_body.size() < kMaxErrorBody) {
          self->error_body.append(chunk.substr(0, kMaxErrorBody - self->error_body.size()));
        }
        return true;
      }
      Status status = self->sink->Data(chunk);
      if (!status.ok()) {
        self->sink_error = std::move(status);
        return false;
      }
      return !self->sink->Enough();
    };
    handlers.on_done = [self](Status status) { self->Answered(std::move(status)); };
    client->Stream(std::move(http), std::move(options), std::move(handlers));
  }

  void Answered(Status transport) {
    const auto now = Clock::now();
    if (sink_error) {
      if (sink_error->code() != StatusCode::kCancelled && breaker) breaker->RecordFailure(now);
      return Done(*sink_error);
    }
    if (transport.ok() && head.status / 100 == 2) {
      if (breaker) breaker->RecordSuccess();
      return Done(OkStatus());
    }
    if (transport.code() == StatusCode::kCancelled || ctx.cancelled()) {
      return Done(CancelledError(who + ": cancelled"));
    }
    if (!transport.ok()) {
      if (breaker) breaker->RecordFailure(now);
      // A timeout of one phase (connect, first token, idle) with time left is worth a retry;
      // the call's own deadline is not.
      const bool retryable = transport.code() == StatusCode::kUnavailable ||
                             (transport.code() == StatusCode::kDeadlineExceeded && now < deadline);
      if (retryable && CanRetry()) return RetryAfter(std::nullopt, 0, transport);
      if (transport.code() == StatusCode::kUnavailable ||
          transport.code() == StatusCode::kResourceExhausted) {
        return Done(UpstreamFailedError(who + ": " + transport.message()));
      }
      return Done(transport.WithPrefix(who));
    }
    const net::UpstreamError e = net::ParseUpstreamError(
        head.status, error_body, [this](std::string_view name) { return head.Header(name); },
        std::chrono::system_clock::now());
    if (e.auth_failed && settings->token && !token_refreshed && !sink->Committed()) {
      // An expired token (or one revoked early): fetch a newer one and send once more.
      token_refreshed = true;
      auto self = shared_from_this();
      settings->token->RefreshAfter(token_generation, [self, e](Status fetched) {
        if (!fetched.ok()) {
          return self->Done(UpstreamAuthFailedError(MapAnswer(e, self->who).message() +
                                                    "; fetching a new token failed: " +
                                                    fetched.message()));
        }
        self->Try();
      });
      return;
    }
    if (!e.retryable) {
      if (breaker) breaker->RecordSuccess();  // it answered: healthy, our request was not
      return Done(MapAnswer(e, who));
    }
    if (breaker) breaker->RecordFailure(now);
    if (!CanRetry()) return Done(MapAnswer(e, who));
    RetryAfter(e.retry_after, e.http_status, MapAnswer(e, who));
  }

  bool CanRetry() const {
    return info.attempts <= settings->max_retries && !sink->Committed();
  }

  // Waits, then tries again; answers `last` at once when the wait does not fit the deadline.
  void RetryAfter(std::optional<milliseconds> asked, int http_status, Status last) {
    // One generator per thread, seeded once: seeding one per call would cost a syscall and a
    // 2.5 KB state on every upstream call.
    thread_local std::mt19937_64 rng{std::random_device{}()};
    const milliseconds wait =
        asked ? *asked : net::Backoff(info.attempts, net::BackoffPolicy{}, rng);
    if (Clock::now() + wait >= deadline) {
      const std::string why = who + ": " +
                              (asked ? "upstream asked to wait " + Seconds(wait)
                                     : "no time left for another try") +
                              ", past the call's deadline (" + last.message() + ")";
      if (http_status == 429) return Done(ResourceExhaustedError(why));
      if (http_status != 0) return Done(UnavailableError(why));
      return Done(last.code() == StatusCode::kDeadlineExceeded ? last : UpstreamFailedError(why));
    }
    auto self = shared_from_this();
    client->RunAfter(wait, ctx.cancel, [self] { self->Try(); });
  }

  void Done(Status status) {
    auto finish = std::move(done);
    done = nullptr;
    if (finish) finish(std::move(status), info);
  }
};

UpstreamCaller::UpstreamCaller(std::shared_ptr<net::HttpClient> client,
                               std::shared_ptr<const RemoteSettings> settings,
                               std::shared_ptr<const WireFormat> format,
                               std::string upstream_model,
                               std::shared_ptr<net::CircuitBreaker> breaker)
    : client_(std::move(client)),
      settings_(std::move(settings)),
      format_(std::move(format)),
      upstream_model_(std::move(upstream_model)),
      breaker_(std::move(breaker)) {}

void UpstreamCaller::Call(UpstreamRequest request, const CallContext& ctx, CallKind kind,
                          std::shared_ptr<BodySink> sink,
                          std::function<void(Status, const CallInfo&)> done) const {
  auto attempts = std::make_shared<Attempts>();
  attempts->client = client_;
  attempts->settings = settings_;
  attempts->format = format_;
  attempts->breaker = breaker_;
  attempts->who = "provider '" + settings_->provider_id + "' (" + upstream_model_ + ")";
  attempts->headers = settings_->headers;
  for (net::HttpHeader& h : request.headers) attempts->headers.push_back(std::move(h));
  if (!ctx.request_id.empty()) attempts->headers.push_back({"x-request-id", ctx.request_id});
  attempts->request = std::move(request);
  attempts->ctx = ctx;
  attempts->kind = kind;
  attempts->sink = std::move(sink);
  attempts->done = std::move(done);
  attempts->deadline = std::min(ctx.deadline, Clock::now() + settings_->timeout);
  attempts->Try();
}

}  // namespace modelrt::remote
