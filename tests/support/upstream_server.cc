#include "support/upstream_server.h"


#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>

#include "support/loopback_socket.h"

namespace modelrt::testing {

static bool SendAll(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// Waits up to 50 ms for `fd` to be readable (or closed).
static bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 50) > 0;
}

static std::string Hex(size_t n) {
  char buf[32];
  snprintf(buf, sizeof buf, "%zx", n);
  return buf;
}

static std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string UpstreamRequestSeen::Header(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (strcasecmp(n.c_str(), name.c_str()) == 0) return v;
  }
  return "";
}

UpstreamReply UpstreamReply::Json(int status, std::string body) {
  UpstreamReply reply;
  reply.status = status;
  reply.headers = {{"Content-Type", "application/json"}};
  reply.body = std::move(body);
  return reply;
}

UpstreamReply UpstreamReply::Sse(std::vector<std::string> events) {
  UpstreamReply reply;
  reply.headers = {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"}};
  reply.chunks = std::move(events);
  return reply;
}

UpstreamReply UpstreamReply::WithFault(Fault fault) {
  UpstreamReply reply = Json(200, R"({"ok": true})");
  reply.fault = fault;
  return reply;
}

UpstreamServer::UpstreamServer(Handler handler, std::optional<UpstreamTls> tls)
    : handler_(std::move(handler)) {
  if (tls) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr ||
        SSL_CTX_use_certificate_chain_file(ctx, tls->cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, tls->key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      std::abort();
    }
    tls_ = ctx;
  }
  listen_fd_ = ListenOnLoopback(1024, &port_);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

UpstreamServer::~UpstreamServer() {
  stop_ = true;
  accept_thread_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
  close(listen_fd_);
  if (tls_) SSL_CTX_free(static_cast<SSL_CTX*>(tls_));
}

std::vector<UpstreamRequestSeen> UpstreamServer::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

void UpstreamServer::AcceptLoop() {
  while (!stop_) {
    if (!Readable(listen_fd_)) continue;
    int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    const int connection = ++connections_;
    std::lock_guard<std::mutex> lock(mu_);
    threads_.emplace_back([this, fd, connection] {
      ++open_;
      Serve(fd, connection);
      --open_;
      close(fd);
    });
  }
}

void UpstreamServer::Serve(int fd, int connection) {
  SSL* ssl = nullptr;
  if (tls_) {
    timeval timeout{5, 0};  // a client that never completes its handshake cannot hold us
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ssl = SSL_new(static_cast<SSL_CTX*>(tls_));
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {
      SSL_free(ssl);
      return;
    }
  }
  struct SslFree {
    SSL* ssl;
    ~SslFree() {
      if (ssl) SSL_free(ssl);
    }
  } free_ssl{ssl};
  auto Readable = [&](int f) { return (ssl && SSL_pending(ssl) > 0) || testing::Readable(f); };
  auto recv = [&](int f, char* b, size_t n, int flags) -> ssize_t {
    if (!ssl) return ::recv(f, b, n, flags);
    return SSL_read(ssl, b, static_cast<int>(n));
  };
  auto SendAll = [&](int f, const std::string& bytes) {
    if (!ssl) return testing::SendAll(f, bytes);
    return bytes.empty() || SSL_write(ssl, bytes.data(), static_cast<int>(bytes.size())) > 0;
  };
  std::string data;
  char buf[16384];
  while (!stop_) {
    // One request: the head, then a Content-Length body.
    size_t head_end;
    while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
      if (stop_) return;
      if (!Readable(fd)) continue;
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      data.append(buf, static_cast<size_t>(n));
    }
    UpstreamRequestSeen request;
    request.connection = connection;
    const std::string head = data.substr(0, head_end);
    size_t line_end = head.find("\r\n");
    const std::string first = head.substr(0, line_end);
    const size_t sp1 = first.find(' ');
    const size_t sp2 = first.find(' ', sp1 + 1);
    request.method = first.substr(0, sp1);
    request.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = line_end;
    while (pos != std::string::npos && pos + 2 <= head.size()) {
      const size_t start = pos + 2;
      const size_t end = head.find("\r\n", start);
      const std::string line = head.substr(start, end == std::string::npos ? end : end - start);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        size_t v = colon + 1;
        while (v < line.size() && line[v] == ' ') ++v;
        request.headers.emplace_back(line.substr(0, colon), line.substr(v));
      }
      pos = end;
    }
    const std::string length = request.Header("content-length");
    const size_t want = length.empty() ? 0 : std::stoul(length);
    while (data.size() < head_end + 4 + want) {
      if (stop_) return;
      if (!Readable(fd)) continue;
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      data.append(buf, static_cast<size_t>(n));
    }
    request.body = data.substr(head_end + 4, want);
    data.erase(0, head_end + 4 + want);
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(request);
    }

    const UpstreamReply reply = handler_(request);
    auto sleep_or_stop = [this](std::chrono::milliseconds d) {
      const auto until = std::chrono::steady_clock::now() + d;
      while (!stop_ && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    };
    // Until the client closes its end (or the server stops).
    auto stall = [&] {
      while (!stop_) {
        if (!Readable(fd)) continue;
        if (recv(fd, buf, sizeof buf, 0) <= 0) return;
      }
    };
    if (reply.fault == UpstreamReply::Fault::kResetBeforeHead) {
      linger l{1, 0};  // close with RST
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      return;
    }
    if (reply.fault == UpstreamReply::Fault::kStallBeforeHead) return stall();
    sleep_or_stop(reply.head_delay);
    std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " Scripted\r\n";
    bool has_type = false;
    for (const auto& [n, v] : reply.headers) {
      out += n + ": " + v + "\r\n";
      if (Lower(n) == "content-type") has_type = true;
    }
    if (!has_type) out += "Content-Type: application/json\r\n";
    const bool chunked = !reply.chunks.empty();
    if (chunked) {
      out += "Transfer-Encoding: chunked\r\n";
    } else {
      out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
    }
    if (reply.close) out += "Connection: close\r\n";
    out += "\r\n";
    if (reply.fault == UpstreamReply::Fault::kStallAfterHead) {
      SendAll(fd, out);
      return stall();
    }
    if (!chunked) {
      if (reply.fault == UpstreamReply::Fault::kCloseMidBody) {
        SendAll(fd, out + reply.body.substr(0, reply.body.size() / 2));
        return;
      }
      if (!SendAll(fd, out + reply.body)) return;
    } else {
      if (!SendAll(fd, out)) return;
      for (size_t i = 0; i < reply.chunks.size(); ++i) {
        if (i > 0) sleep_or_stop(reply.chunk_delay);
        const std::string& c = reply.chunks[i];
        if (!SendAll(fd, Hex(c.size()) + "\r\n" + c + "\r\n")) return;
        if (reply.fault == UpstreamReply::Fault::kCloseMidBody) return;
      }
      if (!SendAll(fd, "0\r\n\r\n")) return;
    }
    if (reply.close || reply.close_silently) return;
  }
}

}  // namespace modelrt::testing
