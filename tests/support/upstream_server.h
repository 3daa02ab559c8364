// Test fixture: a real HTTP/1.1 server on loopback that plays an upstream API, scripted per
// request. It speaks keep-alive and chunked streaming, serves connections concurrently (a thread
// each), records every request exactly as received (method, target, headers, body), and can
// misbehave on purpose: a reset before the answer, a body cut short, a stall, a slow stream.
// It is what remote providers are tested against when no real server of that API exists here
// (a real llama-server plays OpenAI), and a fault injector in front of the real one.
//
//   UpstreamServer server([](const UpstreamRequestSeen& r) {
//     return UpstreamReply::Json(200, R"({"data": []})");
//   });
//   ... base_url = server.url() + "/v1" ...
//   EXPECT_EQ(server.requests().at(0).Header("authorization"), "Bearer sk-test");
//
// Thread-safety: requests(), port(), url() from any thread; the handler runs on the connection
// threads (several at once).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace modelrt::testing {

struct UpstreamRequestSeen {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // in order, names as sent
  std::string body;
  int connection = 0;  // which connection brought it (1, 2, ...): keep-alive shows as repeats

  // The first header called `name` (case-insensitive), "" when absent.
  std::string Header(const std::string& name) const;
};

struct UpstreamReply {
  enum class Fault {
    kNone,
    kResetBeforeHead,  // close the connection (with RST) without answering
    kCloseMidBody,     // send the head and the first chunk (or half the body), then close
    kStallAfterHead,   // send the head, then nothing until the client gives up
    kStallBeforeHead,  // send nothing until the client gives up
  };
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;                 // sent with Content-Length when `chunks` is empty
  std::vector<std::string> chunks;  // else sent chunked, one HTTP chunk each
  std::chrono::milliseconds head_delay{0};
  std::chrono::milliseconds chunk_delay{0};
  Fault fault = Fault::kNone;
  bool close = false;           // Connection: close after this answer
  bool close_silently = false;  // close after this answer without saying so (a keep-alive
                                // connection the server dropped: the client finds out on reuse)

  static UpstreamReply Json(int status, std::string body);
  // text/event-stream, one chunk per event ("data: {...}\n\n" each, as given).
  static UpstreamReply Sse(std::vector<std::string> events);
  static UpstreamReply WithFault(Fault fault);
};

// A certificate and its key (PEM files) for an UpstreamServer that speaks HTTPS.
struct UpstreamTls {
  std::string cert_file;
  std::string key_file;
};

class UpstreamServer {
 public:
  using Handler = std::function<UpstreamReply(const UpstreamRequestSeen&)>;

  explicit UpstreamServer(Handler handler, std::optional<UpstreamTls> tls = std::nullopt);
  ~UpstreamServer();
  UpstreamServer(const UpstreamServer&) = delete;
  UpstreamServer& operator=(const UpstreamServer&) = delete;

  int port() const { return port_; }
  std::string url() const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
  }
  std::vector<UpstreamRequestSeen> requests() const;
  int connections() const { return connections_.load(); }
  // Connections open right now.
  int open_connections() const { return open_.load(); }

 private:
  void AcceptLoop();
  void Serve(int fd, int connection);

  Handler handler_;
  void* tls_ = nullptr;  // SSL_CTX*, when serving HTTPS
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> open_{0};
  mutable std::mutex mu_;
  std::vector<UpstreamRequestSeen> requests_;  // under mu_
  std::vector<std::thread> threads_;           // under mu_
  std::thread accept_thread_;
};

}  // namespace modelrt::testing
