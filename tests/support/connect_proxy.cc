#include "support/connect_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "support/loopback_socket.h"

namespace modelrt::testing {
namespace {

constexpr int kPollMs = 50;  // how often the loops look at stop_

bool SendAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

ConnectProxy::ConnectProxy() {
  listen_fd_ = ListenOnLoopback(64, &port_);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

ConnectProxy::~ConnectProxy() {
  stop_ = true;
  accept_thread_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
  close(listen_fd_);
}

std::vector<std::string> ConnectProxy::targets() const {
  std::lock_guard<std::mutex> lock(mu_);
  return targets_;
}

void ConnectProxy::AcceptLoop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, kPollMs) <= 0) continue;
    const int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    threads_.emplace_back([this, fd] { Tunnel(fd); });
  }
}

void ConnectProxy::Tunnel(int client) {
  // The request head, byte by byte: nothing after it may be read, it belongs to the tunnel.
  std::string head;
  char c;
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 8192) {
    pollfd p{client, POLLIN, 0};
    if (stop_ || (poll(&p, 1, kPollMs) > 0 && recv(client, &c, 1, 0) != 1)) {
      close(client);
      return;
    }
    if (p.revents & POLLIN) head += c;
  }
  const size_t space = head.find(' ');
  const size_t end = head.find(' ', space + 1);
  const std::string method = head.substr(0, space);
  const std::string target =
      space == std::string::npos ? "" : head.substr(space + 1, end - space - 1);
  {
    std::lock_guard<std::mutex> lock(mu_);
    targets_.push_back(target);
  }
  const size_t colon = target.rfind(':');
  const int upstream = method == "CONNECT" && colon != std::string::npos
                           ? ConnectToLoopback(std::atoi(target.c_str() + colon + 1))
                           : -1;
  const std::string answer = upstream >= 0
                                 ? "HTTP/1.1 200 Connection Established\r\n\r\n"
                                 : "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
  if (!SendAll(client, answer.data(), answer.size()) || upstream < 0) {
    if (upstream >= 0) close(upstream);
    close(client);
    return;
  }
  char buffer[16384];
  bool open = true;
  while (open && !stop_) {
    pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
    if (poll(fds, 2, kPollMs) <= 0) continue;
    for (int i = 0; i < 2 && open; ++i) {
      if (fds[i].revents == 0) continue;
      const ssize_t n = recv(fds[i].fd, buffer, sizeof buffer, 0);
      open = n > 0 && SendAll(fds[1 - i].fd, buffer, static_cast<size_t>(n));
    }
  }
  close(upstream);
  close(client);
}

}  // namespace modelrt::testing
