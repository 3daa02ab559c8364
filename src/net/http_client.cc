#include "net/http_client.h"

#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <deque>
#include <map>
#include <thread>

#include "core/ascii_case.h"
#include "core/thread_annotations.h"

namespace modelrt::net {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;
using std::chrono::milliseconds;

namespace {

constexpr size_t kReadBufferBytes = 64 * 1024;  // per connection


std::optional<std::string> ProcessEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

bool IsIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// One connection to an upstream (or to the proxy tunnelling to it), with the read buffer that
// carries over between the requests it serves. Every operation on it runs on `strand`.
struct Connection {
  explicit Connection(Strand s) : strand(s), socket(s) {}
  Strand strand;
  tcp::socket socket;  // the TCP layer until TLS starts, then moved into `tls`
  std::unique_ptr<ssl::stream<tcp::socket>> tls;
  beast::flat_buffer buffer;
  Clock::time_point idle_since;

  tcp::socket& tcp_layer() { return tls ? tls->next_layer() : socket; }
  void Close() {
    boost::system::error_code ignored;
    tcp_layer().close(ignored);
  }
};

}  // namespace

std::optional<std::string_view> FindHeader(const std::vector<HttpHeader>& headers,
                                           std::string_view name) {
  for (const HttpHeader& header : headers) {
    if (EqualsIgnoreCase(header.name, name)) return std::string_view(header.value);
  }
  return std::nullopt;
}

struct HttpClient::Impl {
  explicit Impl(Options o) : options(std::move(o)) {}

  // Idle connections per "scheme://host:port[ via proxy]", newest at the back.
  std::unique_ptr<Connection> TakeIdle(const std::string& key) {
    MutexLock lock(mu);
    auto it = idle.find(key);
    if (it == idle.end()) return nullptr;
    const auto oldest_kept = Clock::now() - options.keep_alive;
    auto& list = it->second;
    while (!list.empty() && list.front()->idle_since < oldest_kept) list.pop_front();
    if (list.empty()) {
      idle.erase(it);
      return nullptr;
    }
    auto connection = std::move(list.back());
    list.pop_back();
    return connection;
  }

  void PutIdle(const std::string& key, std::unique_ptr<Connection> connection) {
    connection->idle_since = Clock::now();
    MutexLock lock(mu);
    auto& list = idle[key];
    list.push_back(std::move(connection));
    while (static_cast<int>(list.size()) > options.max_idle_per_host) list.pop_front();
  }

  const Options options;
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  ssl::context tls{ssl::context::tls_client};
  std::vector<std::thread> threads;
  std::atomic<int64_t> opened{0};
  std::atomic<int64_t> reused{0};
  std::atomic<int64_t> in_flight{0};
  Mutex mu;
  // Declared after `ioc`, so idle sockets close before the loop they belong to is destroyed.
  std::map<std::string, std::deque<std::unique_ptr<Connection>>> idle GUARDED_BY(mu);
};

namespace {

// One request and its answer. Owns its connection while it runs; gives it back to the pool when
// the answer was read in full and the upstream keeps the connection open.
class Call : public std::enable_shared_from_this<Call> {
 public:
  Call(HttpClient::Impl* client, HttpRequest request, HttpCallOptions options,
       HttpStreamHandlers handlers, std::optional<Url> proxy)
      : client_(client),
        request_(std::move(request)),
        options_(std::move(options)),
        handlers_(std::move(handlers)),
        proxy_(std::move(proxy)),
        key_(request_.url.scheme + "://" + request_.url.HostHeader() +
             (proxy_ ? " via " + proxy_->HostHeader() : "")) {}

  // From any thread.
  void Start() {
    conn_ = client_->TakeIdle(key_);
    reused_ = conn_ != nullptr;
    if (!reused_) conn_ = std::make_unique<Connection>(asio::make_strand(client_->ioc));
    strand_ = conn_->strand;
    timer_.emplace(*strand_);
    resolver_.emplace(*strand_);
    asio::dispatch(*strand_, [self = shared_from_this()] { self->Begin(); });
  }

 private:
  void Begin() {
    client_->in_flight.fetch_add(1, std::memory_order_relaxed);
    if (options_.cancel) {
      std::weak_ptr<Call> weak = shared_from_this();
      cancel_key_ = options_.cancel->OnCancel([weak, strand = *strand_] {
        asio::post(strand, [weak] {
          if (auto self = weak.lock()) self->Abort(CancelledError("upstream call cancelled"));
        });
      });
    }
    if (reused_) {
      client_->reused.fetch_add(1, std::memory_order_relaxed);
      SendRequest();
    } else {
      Resolve();
    }
  }

  std::string Where() const { return "upstream " + request_.url.HostHeader(); }

  // Arms the one timer of the call for the current phase: the earlier of the call's deadline and
  // now + `limit` (0 = the deadline only).
  void Arm(milliseconds limit, std::string phase) {
    Clock::time_point until = options_.deadline;
    bool phase_limit = false;
    if (limit.count() > 0 && Clock::now() + limit < until) {
      until = Clock::now() + limit;
      phase_limit = true;
    }
    timer_->cancel();
    const uint64_t arm = ++arm_;
    if (until == Clock::time_point::max()) return;
    std::string message = phase_limit ? Where() + ": timed out " + phase + " (after " +
                                            std::to_string(limit.count()) + " ms)"
                                      : Where() + ": deadline exceeded " + phase;
    timer_->expires_at(until);
    timer_->async_wait([self = shared_from_this(), arm, message = std::move(message)](
                           boost::system::error_code ec) {
      if (ec || arm != self->arm_) return;
      self->Abort(DeadlineExceededError(message));
    });
  }

  // Ends the call from outside its chain of operations (timer, cancellation): closing the
  // socket makes the pending operation complete, and its handler finishes with `status`.
  void Abort(Status status) {
    if (finished_ || abort_) return;
    abort_ = std::move(status);
    resolver_->cancel();
    if (conn_) conn_->Close();
  }

  // True (and the call finished) when the operation that just completed failed.
  bool Failed(boost::system::error_code ec, std::string_view during) {
    if (finished_) return true;
    if (abort_) {
      Finish(*abort_);
      return true;
    }
    if (!ec) return false;
    if (ec == http::error::body_limit) {
      Finish(ResourceExhaustedError(Where() + ": answer larger than " +
                                    std::to_string(options_.max_body_bytes) + " bytes"));
    } else {
      Finish(UnavailableError(Where() + ": " + std::string(during) + ": " + ec.message()));
    }
    return true;
  }

  void Resolve() {
    Arm(options_.connect_timeout, "connecting");
    const Url& to = proxy_ ? *proxy_ : request_.url;
    resolver_->async_resolve(
        to.host, std::to_string(to.port),
        [self = shared_from_this()](boost::system::error_code ec, tcp::resolver::results_type r) {
          if (self->Failed(ec, "resolving the host")) return;
          self->Connect(std::move(r));
        });
  }

  void Connect(tcp::resolver::results_type endpoints) {
    client_->opened.fetch_add(1, std::memory_order_relaxed);
    asio::async_connect(conn_->socket, endpoints,
                        [self = shared_from_this()](boost::system::error_code ec, const auto&) {
                          if (self->Failed(ec, "connecting")) return;
                          boost::system::error_code ignored;
                          self->conn_->socket.set_option(tcp::no_delay(true), ignored);
                          if (self->proxy_ && self->request_.url.tls()) {
                            self->ProxyConnect();
                          } else if (self->request_.url.tls()) {
                            self->Handshake();
                          } else {
                            self->SendRequest();
                          }
                        });
  }

  // HTTPS through a proxy: a CONNECT tunnel, then TLS inside it.
  void ProxyConnect() {
    // CONNECT names host and port always (authority-form, RFC 9110 9.3.6).
    const Url& url = request_.url;
    const bool ipv6 = url.host.find(':') != std::string::npos;
    const std::string authority =
        (ipv6 ? "[" + url.host + "]" : url.host) + ":" + std::to_string(url.port);
    connect_request_.emplace(http::verb::connect, authority, 11);
    connect_request_->set(http::field::host, authority);
    http::async_write(
        conn_->socket, *connect_request_,
        [self = shared_from_this()](boost::system::error_code ec, size_t) {
          if (self->Failed(ec, "sending CONNECT to the proxy")) return;
          self->connect_answer_.emplace();
          self->connect_answer_->skip(true);  // a 2xx answer to CONNECT has no body
          http::async_read(self->conn_->socket, self->conn_->buffer, *self->connect_answer_,
                           [self](boost::system::error_code ec, size_t) {
                             if (self->Failed(ec, "reading the proxy's CONNECT answer")) return;
                             const int status = self->connect_answer_->get().result_int();
                             if (status / 100 != 2) {
                               self->Finish(UnavailableError(
                                   self->Where() + ": the proxy refused CONNECT with status " +
                                   std::to_string(status)));
                               return;
                             }
                             self->Handshake();
                           });
        });
  }

  void Handshake() {
    const std::string& host = request_.url.host;
    conn_->tls = std::make_unique<ssl::stream<tcp::socket>>(std::move(conn_->socket), client_->tls);
    // SNI names a host, never an address (RFC 6066 3).
    if (!IsIpLiteral(host)) SSL_set_tlsext_host_name(conn_->tls->native_handle(), host.c_str());
    conn_->tls->set_verify_mode(ssl::verify_peer);
    conn_->tls->set_verify_callback(ssl::host_name_verification(host));
    conn_->tls->async_handshake(ssl::stream_base::client,
                                [self = shared_from_this()](boost::system::error_code ec) {
                                  if (self->Failed(ec, "TLS handshake")) return;
                                  self->SendRequest();
                                });
  }

  template <class F>
  void WithStream(F&& f) {
    if (conn_->tls) {
      f(*conn_->tls);
    } else {
      f(conn_->socket);
    }
  }

  // A reused keep-alive connection that the upstream had closed: try once on a new one.
  bool RetryOnFreshConnection(boost::system::error_code ec) {
    if (!reused_ || abort_ || finished_ || answer_started_) return false;
    if (ec != http::error::end_of_stream && ec != asio::error::eof &&
        ec != asio::error::connection_reset && ec != asio::error::broken_pipe)
      return false;
    reused_ = false;
    conn_->Close();
    conn_ = std::make_unique<Connection>(*strand_);
    Resolve();
    return true;
  }

  void SendRequest() {
    Arm(milliseconds(0), "sending the request");
    // Built once: a retry on a fresh connection sends the same message again.
    if (!wire_request_) {
      const http::verb verb = http::string_to_verb(request_.method);
      if (verb == http::verb::unknown) {
        Finish(InvalidArgumentError("unknown HTTP method '" + request_.method + "'"));
        return;
      }
      // Plain HTTP through a proxy sends the absolute URL (RFC 9112 3.2.2).
      const std::string target =
          proxy_ && !request_.url.tls() ? request_.url.ToString() : request_.url.target;
      wire_request_.emplace(verb, target, 11);
      wire_request_->set(http::field::host, request_.url.HostHeader());
      if (!FindHeader(request_.headers, "user-agent")) {
        wire_request_->set(http::field::user_agent, "modelrt/0.1");
      }
      for (const HttpHeader& header : request_.headers) {
        wire_request_->insert(header.name, header.value);
      }
      wire_request_->body() = std::move(request_.body);
      wire_request_->keep_alive(true);
      wire_request_->prepare_payload();
    }
    WithStream([this](auto& stream) {
      http::async_write(stream, *wire_request_,
                        [self = shared_from_this()](boost::system::error_code ec, size_t) {
                          if (ec && self->RetryOnFreshConnection(ec)) return;
                          if (self->Failed(ec, "sending the request")) return;
                          self->ReadHead();
                        });
    });
  }

  void ReadHead() {
    Arm(options_.first_byte_timeout, "waiting for the answer");
    parser_.emplace();
    parser_->header_limit(64 * 1024);
    parser_->body_limit(static_cast<uint64_t>(options_.max_body_bytes));
    WithStream([this](auto& stream) {
      http::async_read_header(
          stream, conn_->buffer, *parser_,
          [self = shared_from_this()](boost::system::error_code ec, size_t) {
            if (ec && self->RetryOnFreshConnection(ec)) return;
            if (self->Failed(ec, "reading the answer")) return;
            self->answer_started_ = true;
            HttpResponseHead head;
            head.status = static_cast<int>(self->parser_->get().result_int());
            for (const auto& field : self->parser_->get()) {
              head.headers.push_back({std::string(field.name_string()), std::string(field.value())});
            }
            if (self->handlers_.on_head) self->handlers_.on_head(head);
            self->ReadBody();
          });
    });
  }

  void ReadBody() {
    if (parser_->is_done()) {
      Complete();
      return;
    }
    Arm(options_.idle_timeout, "reading the answer");
    // Beast reads at most the buffer's free capacity per call, which after a head is a few
    // hundred bytes: without room, a large body comes 512 bytes per recv (a tenth of the rate).
    if (conn_->buffer.capacity() < kReadBufferBytes) conn_->buffer.reserve(kReadBufferBytes);
    parser_->get().body().data = chunk_.data();
    parser_->get().body().size = chunk_.size();
    WithStream([this](auto& stream) {
      http::async_read_some(
          stream, conn_->buffer, *parser_,
          [self = shared_from_this()](boost::system::error_code ec, size_t) {
            if (ec == http::error::need_buffer) ec = {};
            if (self->Failed(ec, "reading the answer")) return;
            const size_t got = self->chunk_.size() - self->parser_->get().body().size;
            if (got > 0 && self->handlers_.on_data &&
                !self->handlers_.on_data(std::string_view(self->chunk_.data(), got))) {
              self->Finish(OkStatus());  // the reader has what it wanted; the connection closes
              return;
            }
            self->ReadBody();
          });
    });
  }

  void Complete() {
    if (parser_->keep_alive()) {
      client_->PutIdle(key_, std::move(conn_));
    }
    Finish(OkStatus());
  }

  void Finish(Status status) {
    if (finished_) return;
    finished_ = true;
    ++arm_;
    timer_->cancel();
    if (options_.cancel && cancel_key_ != 0) options_.cancel->Forget(cancel_key_);
    if (conn_) conn_->Close();  // not given back: the answer was not read to its end
    conn_.reset();
    client_->in_flight.fetch_sub(1, std::memory_order_relaxed);
    auto done = std::move(handlers_.on_done);
    handlers_ = {};
    if (done) done(std::move(status));
  }

  HttpClient::Impl* const client_;
  HttpRequest request_;
  const HttpCallOptions options_;
  HttpStreamHandlers handlers_;
  const std::optional<Url> proxy_;
  const std::string key_;

  std::unique_ptr<Connection> conn_;
  std::optional<Strand> strand_;
  std::optional<asio::steady_timer> timer_;
  std::optional<tcp::resolver> resolver_;
  std::optional<http::request<http::empty_body>> connect_request_;
  std::optional<http::response_parser<http::empty_body>> connect_answer_;
  std::optional<http::request<http::string_body>> wire_request_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  std::array<char, 16 * 1024> chunk_{};
  uint64_t cancel_key_ = 0;
  uint64_t arm_ = 0;
  bool reused_ = false;
  bool answer_started_ = false;
  bool finished_ = false;
  std::optional<Status> abort_;
};

}  // namespace

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::shared_ptr<HttpClient> HttpClient::Shared() {
  // Never destroyed: calls may still be in flight while static destructors run at exit.
  static auto* shared = new std::shared_ptr<HttpClient>(*Create({}));
  return *shared;
}

Result<std::shared_ptr<HttpClient>> HttpClient::Create(Options options) {
  if (options.threads < 1) options.threads = 1;
  if (!options.env) options.env = ProcessEnv;
  auto impl = std::make_unique<Impl>(std::move(options));
  boost::system::error_code ec;
  impl->tls.set_default_verify_paths(ec);
  if (ec) return InternalError("TLS: cannot read the system CA store: " + ec.message());
  if (!impl->options.ca_file.empty()) {
    impl->tls.load_verify_file(impl->options.ca_file, ec);
    if (ec) {
      return InvalidArgumentError("ca_file '" + impl->options.ca_file +
                                  "': cannot read it as PEM certificates: " + ec.message());
    }
  }
  for (int i = 0; i < impl->options.threads; ++i) {
    impl->threads.emplace_back([raw = impl.get()] { raw->ioc.run(); });
  }
  return std::shared_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

HttpClient::~HttpClient() {
  impl_->work.reset();
  impl_->ioc.stop();
  for (std::thread& thread : impl_->threads) {
    if (thread.get_id() == std::this_thread::get_id()) {
      thread.detach();  // the last owner let go on the loop itself
    } else {
      thread.join();
    }
  }
}

void HttpClient::Stream(HttpRequest request, HttpCallOptions options,
                        HttpStreamHandlers handlers) {
  std::optional<Url> proxy = ProxyFor(request.url, impl_->options.env);
  auto call = std::make_shared<Call>(impl_.get(), std::move(request), std::move(options),
                                     std::move(handlers), std::move(proxy));
  call->Start();
}

void HttpClient::Fetch(HttpRequest request, HttpCallOptions options, HttpDone done) {
  auto response = std::make_shared<HttpResponse>();
  HttpStreamHandlers handlers;
  handlers.on_head = [response](const HttpResponseHead& head) { response->head = head; };
  handlers.on_data = [response](std::string_view chunk) {
    response->body.append(chunk);
    return true;
  };
  handlers.on_done = [response, done = std::move(done)](Status status) {
    if (!status.ok()) {
      done(std::move(status));
    } else {
      done(std::move(*response));
    }
  };
  Stream(std::move(request), std::move(options), std::move(handlers));
}

void HttpClient::RunAfter(milliseconds delay, std::shared_ptr<CancelSignal> cancel,
                          std::function<void()> fn) {
  struct Wait {
    explicit Wait(Strand s) : timer(s) {}
    asio::steady_timer timer;
    std::function<void()> fn;
    std::shared_ptr<CancelSignal> cancel;
    uint64_t key = 0;
  };
  Strand strand = asio::make_strand(impl_->ioc);
  auto wait = std::make_shared<Wait>(strand);
  wait->fn = std::move(fn);
  wait->cancel = std::move(cancel);
  asio::dispatch(strand, [wait, strand, delay] {
    wait->timer.expires_after(delay);
    wait->timer.async_wait([wait](boost::system::error_code) {
      if (wait->cancel) wait->cancel->Forget(wait->key);
      auto fn = std::move(wait->fn);
      fn();
    });
    if (wait->cancel) {
      std::weak_ptr<Wait> weak = wait;
      wait->key = wait->cancel->OnCancel([weak, strand] {
        asio::post(strand, [weak] {
          if (auto w = weak.lock()) w->timer.cancel();
        });
      });
    }
  });
}

HttpClient::Stats HttpClient::stats() const {
  Stats stats;
  stats.connections_opened = impl_->opened.load(std::memory_order_relaxed);
  stats.connections_reused = impl_->reused.load(std::memory_order_relaxed);
  stats.calls_in_flight = impl_->in_flight.load(std::memory_order_relaxed);
  MutexLock lock(impl_->mu);
  for (const auto& [key, list] : impl_->idle) stats.idle_connections += static_cast<int64_t>(list.size());
  return stats;
}

}  // namespace modelrt::net
