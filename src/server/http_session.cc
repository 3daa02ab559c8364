#include "server/http_session.h"

#include <sys/socket.h>

#include <cerrno>

#include <array>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "core/logging.h"
#include "server/error_mapper.h"
#include "server/request_framing.h"
#include "server/request_id.h"

namespace modelrt::server {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

std::string_view ToStd(boost::beast::string_view s) { return {s.data(), s.size()}; }

bool IsHttpParseError(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_target).category();
}

bool IsQuietReadError(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::operation_aborted ||
         ec == net::error::bad_descriptor || ec == beast::error::timeout ||
         ec == http::error::partial_message;
}

}  // namespace

HttpSession::HttpSession(tcp::socket&& socket, std::shared_ptr<SessionHost> host)
    : stream_(std::move(socket)), host_(std::move(host)) {
  beast::error_code ec;
  auto endpoint = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_ = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

HttpSession::~HttpSession() = default;

void HttpSession::Start() {
  net::post(stream_.get_executor(), [self = shared_from_this()] { self->DoReadHeader(); });
}

void HttpSession::CloseIfIdle() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->in_request_ || self->closed_) return;
    // Reading a request is not idle: between its first bytes and BeginRequest a request takes
    // several strand hops (header bytes, Beast's header parse, the body), and a proxy that
    // sent it on a keep-alive connection cannot tell a close here from a lost request (nginx
    // retries a POST only with proxy_next_upstream non_idempotent).
    if (self->reading_request_ || self->buffer_.size() > 0 || self->BytesWaiting()) {
      if (!self->drain_hold_) {
        self->drain_hold_ = true;
        self->host_->HoldTaken();
      }
      return;
    }
    self->Close();
  });
}

void HttpSession::CancelRequest() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->in_request_) {
      self->ctx_.call.Cancel();
    } else if (self->drain_hold_) {
      self->Close();  // still arriving after the grace period (a slow or stalled client)
    }
  });
}

bool HttpSession::BytesWaiting() {
  char byte;
  ssize_t n = ::recv(stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n > 0;
}

void HttpSession::DropDrainHold() {
  if (!drain_hold_) return;
  drain_hold_ = false;
  host_->HoldDropped();
}

// ---- reading -----------------------------------------------------------------------------

void HttpSession::DoReadHeader() {
  if (closed_) return;
  parser_.emplace();
  body_limit_ = host_->options().max_body_bytes;
  parser_->body_limit(static_cast<uint64_t>(std::max<int64_t>(0, body_limit_)));
  parser_->header_limit(host_->options().max_header_bytes);
  // Bytes already read (a pipelined request) started a request: its header has header_timeout.
  stream_.expires_after(buffer_.size() > 0 ? host_->options().header_timeout
                                           : host_->options().idle_timeout);
  reading_request_ = buffer_.size() > 0;
  ReadRawHeader();
}

// The header section is first read as bytes, so CheckRawHeader sees the line ends and folds
// Beast would normalise away; Beast then parses it from buffer_ without reading again.
void HttpSession::ReadRawHeader() {
  std::string_view have(static_cast<const char*>(buffer_.data().data()), buffer_.size());
  size_t end = FindHeaderEnd(have);
  if (end != std::string_view::npos) {
    if (std::optional<FramingError> bad = CheckRawHeader(have.substr(0, end))) {
      return RefuseFraming(*bad);
    }
    // An upload route may read more than the default limit. Set before Beast parses the header,
    // as it checks Content-Length against the limit there.
    std::string_view line = have.substr(0, have.find('\n'));
    size_t method_end = line.find(' ');
    size_t target_end = line.find(' ', method_end + 1);
    if (method_end != std::string_view::npos && target_end != std::string_view::npos) {
      std::string_view target = line.substr(method_end + 1, target_end - method_end - 1);
      body_limit_ = host_->api().BodyLimit(line.substr(0, method_end),
                                           target.substr(0, target.find('?')),
                                           host_->options().max_body_bytes);
      parser_->body_limit(static_cast<uint64_t>(std::max<int64_t>(0, body_limit_)));
    }
  }
  if (end != std::string_view::npos || have.size() > host_->options().max_header_bytes) {
    // Over the limit, Beast answers header_limit (431).
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              self->OnReadHeader(ec);
                            });
    return;
  }
  stream_.async_read_some(buffer_.prepare(4096),
                          [self = shared_from_this(), started = !have.empty()](
                              beast::error_code ec, size_t n) {
                            if (ec) return self->OnReadError(ec);
                            // The first bytes of a request: from now on its header section
                            // has header_timeout to arrive (a slow-header client is dropped).
                            if (!started && n > 0) {
                              self->stream_.expires_after(self->host_->options().header_timeout);
                              self->reading_request_ = true;
                            }
                            self->buffer_.commit(n);
                            self->ReadRawHeader();
                          });
}

void HttpSession::OnReadHeader(beast::error_code ec) {
  if (ec) return OnReadError(ec);
  {
    std::vector<std::pair<std::string_view, std::string_view>> fields;
    for (const auto& field : parser_->get()) {
      fields.emplace_back(ToStd(field.name_string()), ToStd(field.value()));
    }
    if (std::optional<FramingError> bad = CheckFraming(fields, parser_->get().version() >= 11)) {
      return RefuseFraming(*bad);
    }
  }
  if (parser_->is_done()) return OnReadBody({});
  if (EqualsIgnoreCase(ToStd(parser_->get()[http::field::expect]), "100-continue")) {
    stream_.expires_after(host_->options().write_timeout);
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->Close();
                       self->DoReadBody();
                     });
    return;
  }
  DoReadBody();
}

void HttpSession::DoReadBody() {
  stream_.expires_after(host_->options().read_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) {
                     self->OnReadBody(ec);
                   });
}

void HttpSession::OnReadBody(beast::error_code ec) {
  if (ec) return OnReadError(ec);
  BeginRequest();
  Dispatch();
}

void HttpSession::OnReadError(beast::error_code ec) {
  if (closed_) return;
  if (ec == http::error::body_limit) {
    BeginRequest();
    WriteResponse(ErrorResponse(PayloadTooLargeError(body_limit_)), true);
    return;
  }
  if (IsQuietReadError(ec) || !IsHttpParseError(ec)) {
    // The client left or went quiet (or the socket failed): nothing to answer.
    Close();
    return;
  }
  RefuseFraming({ec == http::error::header_limit ? 431 : 400, "malformed HTTP request: " + ec.message()});
}

void HttpSession::RefuseFraming(const FramingError& bad) {
  BeginRequest();
  // Bytes after a request whose framing is in doubt cannot be trusted to start another one:
  // answer, then close (lingering, so the client reads the answer rather than a reset).
  linger_ = true;
  ApiError error;
  error.http_status = bad.http_status;
  error.type = bad.http_status >= 500 ? "server_error" : "invalid_request_error";
  error.code = bad.http_status == 501 ? "unimplemented" : "malformed_request";
  error.message = bad.message;
  WriteResponse(ErrorResponse(error), true);
}

// ---- handling ----------------------------------------------------------------------------

void HttpSession::BeginRequest() {
  in_request_ = true;
  ++request_seq_;
  started_ = std::chrono::steady_clock::now();
  peer_gone_ = false;
  response_written_ = false;
  linger_ = false;
  status_ = 0;
  request_ = HttpRequest{};
  request_.remote = remote_;
  // A request refused while reading (413) still has its start line and fields parsed.
  if (parser_ && !parser_->get().method_string().empty()) {
    auto& message = parser_->get();
    request_.method = std::string(ToStd(message.method_string()));
    // An absolute-form target ("GET http://host/health", RFC 9112 §3.2.2) is served as its path.
    request_.target = OriginForm(ToStd(message.target()));
    size_t q = request_.target.find('?');
    request_.path = request_.target.substr(0, q);
    if (q != std::string::npos) request_.query = request_.target.substr(q + 1);
    for (const auto& field : message) {
      request_.headers.Add(std::string(ToStd(field.name_string())), std::string(ToStd(field.value())));
    }
    if (parser_->is_done()) request_.body = std::move(message.body());
    keep_alive_ = message.keep_alive();
  } else {
    request_.method = "-";
    request_.path = "-";
    keep_alive_ = false;
  }
  ctx_ = RequestContext{};
  ctx_.request_id = RequestIdFor(request_.Header("X-Request-Id"));
  if (host_->options().max_queue_wait.count() > 0) {
    ctx_.call.start_by = Clock::now() + host_->options().max_queue_wait;
  }
  std::weak_ptr<HttpSession> weak = weak_from_this();
  // These run on the handler's thread, or an engine's for an asynchronous handler.
  auto post_begin = [weak](int status, HttpHeaders headers) {
    auto self = weak.lock();
    if (!self) return false;
    self->host_->PostIfRunning([&] {
      net::post(self->stream_.get_executor(),
                [self, status, headers = std::move(headers)]() mutable {
                  self->StreamBegin(status, std::move(headers));
                });
    });
    return true;
  };
  auto post_chunk = [weak](std::string frame) {
    auto self = weak.lock();
    if (!self) return false;
    self->host_->PostIfRunning([&] {
      net::post(self->stream_.get_executor(), [self, frame = std::move(frame)]() mutable {
        self->StreamEnqueue(std::move(frame));
      });
    });
    return true;
  };
  response_stream_ = std::make_shared<ChunkedResponseStream>(
      post_begin, post_chunk, ctx_.call, host_->options().max_stream_buffer_bytes);
  ctx_.stream = response_stream_.get();
  // Holds the session until an asynchronous handler calls it (the handler moves it out first),
  // counted so that the server's drain also waits for the engine thread to let go of it.
  auto held = std::make_shared<HeldSession>(shared_from_this(), host_);
  ctx_.finish = [held](HttpResponse response) {
    const std::shared_ptr<HttpSession>& self = held->session;
    self->host_->PostIfRunning([&] {
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->OnHandlerDone(std::move(response));
      });
    });
  };
  stream_header_sent_ = stream_writing_ = stream_failed_ = stream_ending_ = false;
  stream_queue_.clear();
  stream_batch_.clear();
  host_->RequestStarted();
  // In flight now (counted above): a drain hold taken while it arrived is no longer needed.
  reading_request_ = false;
  DropDrainHold();
}

void HttpSession::Dispatch() {
  stream_.expires_never();
  WatchForDisconnect();
  if (host_->api().RunsInline(request_)) {
    HttpResponse response = host_->api().Handle(request_, ctx_);
    if (!response.later) OnHandlerDone(std::move(response));
    return;
  }
  const bool later = host_->api().AnswersLater(request_);
  // A handler that answers later only parses, admits and hands the request to its engine (a
  // model that must load is waited for on the runtime's threads), so for a small body it runs
  // here: one thread hand-off fewer on every call.
  if (later && static_cast<int64_t>(request_.body.size()) <= host_->options().inline_body_bytes) {
    HttpResponse response = host_->api().Handle(request_, ctx_);
    if (response.later) return;
    ctx_.finish = nullptr;  // not taken: drop the session reference it holds
    return OnHandlerDone(std::move(response));
  }
  BlockingExecutor& pool = later ? host_->dispatch() : host_->executor();
  bool posted = pool.Post([self = shared_from_this()] {
    // request_ and ctx_ belong to the handler until it returns (an asynchronous one: until it
    // calls ctx_.finish); the strand only reads ctx_.call and the ChunkedResponseStream
    // meanwhile (both thread-safe).
    HttpResponse response = self->host_->api().Handle(self->request_, self->ctx_);
    if (response.later) return;
    self->ctx_.finish = nullptr;  // not taken: drop the session reference it holds
    net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
      self->OnHandlerDone(std::move(response));
    });
  });
  if (!posted) OnHandlerDone(ErrorResponse(UnavailableError("the server is shutting down")));
}

void HttpSession::WatchForDisconnect() {
  stream_.socket().async_wait(
      tcp::socket::wait_read, [self = shared_from_this(), seq = request_seq_](beast::error_code ec) {
        if (ec == net::error::operation_aborted || seq != self->request_seq_ ||
            !self->in_request_ || self->closed_) {
          return;
        }
        if (ec) return self->OnPeerGone();
        // Asio's edge-triggered reactor may report "readable" spuriously, so ask the kernel:
        // a zero-byte peek is an orderly close, EAGAIN means keep watching, bytes mean a
        // pipelined request, which the next read picks up.
        char byte;
        ssize_t n = ::recv(self->stream_.socket().native_handle(), &byte, 1,
                           MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
          self->OnPeerGone();
        } else if (n < 0) {
          self->WatchForDisconnect();
        }
      });
}

void HttpSession::OnPeerGone() {
  peer_gone_ = true;
  if (response_stream_) response_stream_->Kill();
  ctx_.call.Cancel();
}

void HttpSession::OnHandlerDone(HttpResponse response) {
  if (response_stream_ && response_stream_->started()) {
    if (stream_failed_ || closed_ || !response_stream_->alive()) {
      peer_gone_ = true;
      FinishRequest(true);
      return;
    }
    stream_ending_ = true;
    response_stream_->AddPending(ChunkedResponseStream::kLastChunk.size());
    stream_queue_.emplace_back(ChunkedResponseStream::kLastChunk);
    StreamWriteNext();
    return;
  }
  if (peer_gone_ || closed_) {
    status_ = response.status;
    FinishRequest(true);
    return;
  }
  WriteResponse(std::move(response), !keep_alive_ || host_->draining());
}

// ---- writing -----------------------------------------------------------------------------

void HttpSession::WriteResponse(HttpResponse response, bool close) {
  status_ = response.status;
  auto message = std::make_shared<http::response<http::string_body>>(
      static_cast<http::status>(response.status), 11);
  for (const auto& [name, value] : response.headers.fields()) message->set(name, value);
  message->set("X-Request-Id", ctx_.request_id);
  if (ctx_.generation) message->set("X-Model-Generation", std::to_string(ctx_.generation));
  message->body() = std::move(response.body);
  message->keep_alive(!close);
  message->prepare_payload();
  // HEAD: the GET response's fields, Content-Length included, without its body.
  if (request_.method == "HEAD") message->body().clear();
  stream_.expires_after(host_->options().write_timeout);
  http::async_write(stream_, *message,
                    [self = shared_from_this(), message, close](beast::error_code ec, size_t) {
                      self->response_written_ = !ec.failed();
                      self->FinishRequest(close || ec.failed());
                    });
}

void HttpSession::StreamBegin(int status, HttpHeaders headers) {
  status_ = status;
  if (stream_failed_ || closed_) return;
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " +
                     std::string(ToStd(http::obsolete_reason(static_cast<http::status>(status)))) + "\r\n";
  for (const auto& [name, value] : headers.fields()) head += name + ": " + value + "\r\n";
  head += "X-Request-Id: " + ctx_.request_id + "\r\n";
  head += "Transfer-Encoding: chunked\r\n";
  head += keep_alive_ && !host_->draining() ? "Connection: keep-alive\r\n\r\n"
                                            : "Connection: close\r\n\r\n";
  if (host_->draining()) keep_alive_ = false;
  response_stream_->AddPending(head.size());
  stream_header_sent_ = true;
  stream_queue_.push_front(std::move(head));
  StreamWriteNext();
}

void HttpSession::StreamEnqueue(std::string chunk) {
  if (stream_failed_ || closed_) return;
  stream_queue_.push_back(std::move(chunk));
  StreamWriteNext();
}

void HttpSession::StreamWriteNext() {
  if (stream_writing_ || stream_failed_ || closed_ || !stream_header_sent_) return;
  if (stream_queue_.empty()) {
    if (stream_ending_) {
      response_written_ = true;  // the last chunk was written (OnStreamWrite saw no error)
      FinishRequest(!keep_alive_);
    }
    return;
  }
  // Everything queued goes out in one gathered write.
  stream_batch_.assign(std::make_move_iterator(stream_queue_.begin()),
                       std::make_move_iterator(stream_queue_.end()));
  stream_queue_.clear();
  std::vector<net::const_buffer> buffers;
  buffers.reserve(stream_batch_.size());
  for (const std::string& s : stream_batch_) buffers.emplace_back(s.data(), s.size());
  stream_writing_ = true;
  stream_.expires_after(host_->options().write_timeout);
  net::async_write(stream_, buffers, [self = shared_from_this()](beast::error_code ec, size_t) {
    self->OnStreamWrite(ec);
  });
}

void HttpSession::OnStreamWrite(beast::error_code ec) {
  stream_writing_ = false;
  size_t written = 0;
  for (const std::string& s : stream_batch_) written += s.size();
  stream_batch_.clear();
  if (response_stream_) response_stream_->SubPending(written);
  if (ec) return StreamFailed();
  StreamWriteNext();
}

void HttpSession::StreamFailed() {
  stream_failed_ = true;
  OnPeerGone();
  Close();
  // The handler still runs; OnHandlerDone finishes the request once it returns.
}

void HttpSession::FinishRequest(bool close) {
  if (!in_request_) return;
  RequestRecord record;
  record.method = request_.method;
  record.path = request_.path;
  record.route = ctx_.route;
  record.model = ctx_.model;
  record.request_id = ctx_.request_id;
  // 499 (nginx's "client closed request") when the client left before the answer was complete.
  // A client that read the whole response and then closed (the disconnect watch may see that
  // before the write's completion runs) had its answer: it is counted under the real status.
  record.status = peer_gone_ && !response_written_ ? 499 : status_;
  record.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  record.prompt_tokens = ctx_.prompt_tokens;
  record.completion_tokens = ctx_.completion_tokens;
  in_request_ = false;
  ctx_ = RequestContext{};
  request_ = HttpRequest{};
  response_stream_.reset();
  host_->RequestFinished(record);

  if (close || closed_ || host_->draining()) {
    if (!closed_ && close && (record.status == 413 || linger_)) return LingeringClose();
    return Close();
  }
  DoReadHeader();
}

// ---- closing -----------------------------------------------------------------------------

void HttpSession::LingeringClose() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.expires_after(std::chrono::seconds(2));
  auto discard = std::make_shared<std::array<char, 16384>>();
  auto self = shared_from_this();
  struct Drain {
    std::shared_ptr<HttpSession> self;
    std::shared_ptr<std::array<char, 16384>> buf;
    void operator()(beast::error_code ec, size_t) {
      if (ec) return self->Close();
      self->stream_.async_read_some(net::buffer(*buf), std::move(*this));
    }
  };
  stream_.async_read_some(net::buffer(*discard), Drain{self, discard});
}

void HttpSession::Close() {
  if (closed_) return;
  closed_ = true;
  reading_request_ = false;
  DropDrainHold();
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();
}

}  // namespace modelrt::server
