// Test fixture: a real loopback TCP server that misbehaves on purpose, for the CLI's error
// paths. It accepts connections one after another on its own thread, reads one HTTP request
// (headers and a Content-Length body), records it, and does what the test's handler says:
// send these bytes and close, close without a word, or hold the connection open until the
// server is destroyed (to make a client time out).
//
//   ScriptedServer server([](const RecordedRequest&) {
//     return Reply::Bytes(HttpReply(409, R"({"error":{"message":"busy"}})"));
//   });
//   // ... point a client at http://127.0.0.1:<server.port()> ...
//   EXPECT_EQ(server.requests().at(0).target, "/admin/models");
//
// Also: ClosedPort(), a loopback port with nothing listening (connections are refused).
//
// Thread-safety: port() and requests() from any thread; construct and destroy on one thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace modelrt::testing {

struct RecordedRequest {
  std::string method;
  std::string target;
  std::string head;  // the request line and headers as received
  std::string body;

  // A header's value ("" when absent); the name is case-insensitive.
  std::string Header(const std::string& name) const {
    size_t pos = head.find("\r\n");
    while (pos != std::string::npos && pos + 2 < head.size()) {
      const size_t start = pos + 2;
      const size_t end = head.find("\r\n", start);
      const std::string line =
          head.substr(start, end == std::string::npos ? std::string::npos : end - start);
      const size_t colon = line.find(':');
      if (colon != std::string::npos && colon == name.size() &&
          strncasecmp(line.c_str(), name.c_str(), name.size()) == 0) {
        size_t v = colon + 1;
        while (v < line.size() && line[v] == ' ') ++v;
        return line.substr(v);
      }
      pos = end;
    }
    return "";
  }
};

struct Reply {
  enum class Action { kSend, kClose, kHang };
  Action action = Action::kSend;
  std::string bytes;  // for kSend: written as is, then the connection is closed

  static Reply Bytes(std::string b) { return {Action::kSend, std::move(b)}; }
  static Reply Close() { return {Action::kClose, ""}; }
  static Reply Hang() { return {Action::kHang, ""}; }
};

// A complete HTTP/1.1 answer with a JSON body.
inline std::string HttpReply(int status, const std::string& body,
                             const std::string& content_type = "application/json") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         body;
}

// A loopback port that was free a moment ago and has no listener now.
inline int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

class ScriptedServer {
 public:
  using Handler = std::function<Reply(const RecordedRequest&)>;

  explicit ScriptedServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(listen_fd_, 16) != 0) {
      std::abort();
    }
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    thread_.join();
    close(listen_fd_);
  }
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<RecordedRequest> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  // Waits up to 100 ms for `fd` to be readable; false on timeout (so the loop can check stop_).
  static bool Readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 100) > 0;
  }

  void Loop() {
    while (!stop_) {
      if (!Readable(listen_fd_)) continue;
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      Serve(fd);
      close(fd);
    }
  }

  void Serve(int fd) {
    RecordedRequest request;
    std::string data;
    char buf[4096];
    size_t head_end = std::string::npos;
    size_t want = 0;
    // Read until the head and its Content-Length body are in, for at most ~10 s.
    for (int idle = 0; idle < 100 && !stop_;) {
      if (head_end != std::string::npos && data.size() >= head_end + 4 + want) break;
      if (!Readable(fd)) {
        ++idle;
        continue;
      }
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      data.append(buf, static_cast<size_t>(n));
      if (head_end == std::string::npos &&
          (head_end = data.find("\r\n\r\n")) != std::string::npos) {
        request.head = data.substr(0, head_end);
        const std::string length = request.Header("Content-Length");
        want = length.empty() ? 0 : std::stoul(length);
      }
    }
    if (head_end != std::string::npos) {
      request.body = data.substr(head_end + 4);
      const size_t sp1 = request.head.find(' ');
      const size_t sp2 = request.head.find(' ', sp1 + 1);
      request.method = request.head.substr(0, sp1);
      request.target = request.head.substr(sp1 + 1, sp2 - sp1 - 1);
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(request);
    }
    const Reply reply = handler_(request);
    if (reply.action == Reply::Action::kSend) {
      size_t sent = 0;
      while (sent < reply.bytes.size()) {
        ssize_t n = send(fd, reply.bytes.data() + sent, reply.bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      shutdown(fd, SHUT_WR);
    } else if (reply.action == Reply::Action::kHang) {
      while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<RecordedRequest> requests_;
  std::thread thread_;
};

}  // namespace modelrt::testing
