#include "server/listener.h"

#include <boost/asio/post.hpp>

#include "core/logging.h"
#include "server/http_session.h"

namespace modelrt::server {

namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

Listener::Listener(net::io_context& ioc, std::shared_ptr<SessionHost> host)
    : ioc_(ioc),
      strand_(net::make_strand(ioc)),
      acceptor_(strand_),
      retry_timer_(strand_),
      host_(std::move(host)) {}

Result<std::shared_ptr<Listener>> Listener::Create(net::io_context& ioc,
                                                   const tcp::endpoint& endpoint,
                                                   std::shared_ptr<SessionHost> host) {
  std::shared_ptr<Listener> listener(new Listener(ioc, std::move(host)));
  boost::beast::error_code ec;
  std::string where = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  auto fail = [&](const char* what) {
    return UnavailableError(std::string("cannot ") + what + " " + where + ": " + ec.message());
  };
  listener->acceptor_.open(endpoint.protocol(), ec);
  if (ec) return fail("open a socket for");
  listener->acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail("set SO_REUSEADDR on");
  listener->acceptor_.bind(endpoint, ec);
  if (ec) return fail("bind");
  listener->acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  listener->port_ = listener->acceptor_.local_endpoint(ec).port();
  return listener;
}

void Listener::Start() {
  net::post(strand_, [self = shared_from_this()] { self->DoAccept(); });
}

void Listener::Stop() {
  net::post(strand_, [self = shared_from_this()] {
    self->stopped_ = true;
    boost::beast::error_code ec;
    self->acceptor_.close(ec);
    self->retry_timer_.cancel();
  });
}

void Listener::DoAccept() {
  if (stopped_) return;
  // Each connection gets its own strand: its handlers never run concurrently.
  acceptor_.async_accept(net::make_strand(ioc_),
                         [self = shared_from_this()](boost::beast::error_code ec,
                                                     tcp::socket socket) {
                           self->OnAccept(ec, std::move(socket));
                         });
}

void Listener::OnAccept(boost::beast::error_code ec, tcp::socket socket) {
  if (stopped_) return;
  if (ec) {
    // Out of file descriptors and the like: back off briefly instead of spinning.
    Log("http")->warn("accept failed: {}", ec.message());
    retry_timer_.expires_after(std::chrono::milliseconds(50));
    retry_timer_.async_wait([self = shared_from_this()](boost::beast::error_code wait_ec) {
      if (!wait_ec) self->DoAccept();
    });
    return;
  }
  boost::beast::error_code opt_ec;
  socket.set_option(tcp::no_delay(true), opt_ec);  // SSE chunks must not wait for Nagle
  auto session = std::make_shared<HttpSession>(std::move(socket), host_);
  host_->AddSession(session);
  session->Start();
  DoAccept();
}

}  // namespace modelrt::server
