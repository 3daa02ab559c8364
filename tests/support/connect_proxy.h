// Test fixture: a real HTTP CONNECT proxy on loopback, as HTTPS_PROXY names one. It reads each
// connection's CONNECT request, records its target, connects to 127.0.0.1 on the target's port
// (whatever the host: tests name made-up hosts, because loopback targets never use a proxy),
// answers "200 Connection Established" and then relays bytes both ways until either side closes.
// What goes through the tunnel (TLS, usually) is never looked at.
//
//   ConnectProxy proxy;
//   ... HTTPS_PROXY = proxy.url(); fetch https://api.test:<upstream port>/ ...
//   EXPECT_EQ(proxy.targets(), std::vector<std::string>{"api.test:" + port});
//
// Thread-safety: targets(), url() from any thread; a thread per tunnel.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace modelrt::testing {

class ConnectProxy {
 public:
  ConnectProxy();
  ~ConnectProxy();
  ConnectProxy(const ConnectProxy&) = delete;
  ConnectProxy& operator=(const ConnectProxy&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The CONNECT targets asked for ("host:port"), one per tunnel, in order.
  std::vector<std::string> targets() const;

 private:
  void AcceptLoop();
  void Tunnel(int client);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<std::string> targets_;  // under mu_
  std::vector<std::thread> threads_;  // under mu_
  std::thread accept_thread_;
};

}  // namespace modelrt::testing
