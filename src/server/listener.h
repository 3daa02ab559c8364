// Listener: accepts TCP connections and starts an HttpSession on its own strand for each.
//
//   MODELRT_ASSIGN_OR_RETURN(auto listener, Listener::Create(ioc, endpoint, host));
//   listener->Start();
//   int port = listener->port();   // the bound port (useful with port 0)
//   listener->Stop();              // no new connections; existing sessions continue
//
// Thread-safety: Create/port on any thread; Start/Stop are posted to the acceptor's strand.
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/error.hpp>

#include "modelrt/status.h"
#include "server/session_host.h"

namespace modelrt::server {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Binds and listens. Unavailable when the address cannot be bound (in use, no permission).
  static Result<std::shared_ptr<Listener>> Create(boost::asio::io_context& ioc,
                                                  const boost::asio::ip::tcp::endpoint& endpoint,
                                                  std::shared_ptr<SessionHost> host);

  void Start();
  void Stop();
  int port() const { return port_; }

 private:
  Listener(boost::asio::io_context& ioc, std::shared_ptr<SessionHost> host);
  void DoAccept();
  void OnAccept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& ioc_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  std::shared_ptr<SessionHost> host_;
  int port_ = 0;
  bool stopped_ = false;
};

}  // namespace modelrt::server
