// A small blocking HTTP/1.1 client for the server tests, over Boost.Beast, plus a raw-socket
// mode for what a well-behaved client never sends (malformed requests, dropped streams).
// Every socket has a receive timeout, so a server bug fails a test instead of hanging it.
//
//   HttpResult r = HttpCall(port, "POST", "/v1/embeddings", R"({"model":"embed","input":"hi"})");
//   EXPECT_EQ(r.status, 200);
//   Json body = r.json();
//
// Thread-safety: each call uses its own connection; safe from many threads.
#pragma once

#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/json.h"

namespace modelrt::testing {

using Json = nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResult {
  int status = 0;               // 0 = no response (connection failed or closed)
  std::string error;            // why there was no response
  Headers headers;
  std::string body;

  std::string Header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
    }
    return "";
  }
  Json json() const { return Json::parse(body, nullptr, false); }
};

inline void SetReceiveTimeout(boost::asio::ip::tcp::socket& socket, std::chrono::seconds timeout) {
  timeval tv{static_cast<time_t>(timeout.count()), 0};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

inline boost::system::error_code Connect(boost::asio::ip::tcp::socket& socket, int port) {
  boost::system::error_code ec;
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)}, ec);
  if (!ec) SetReceiveTimeout(socket, std::chrono::seconds(60));
  return ec;
}

inline HttpResult HttpCall(int port, const std::string& method, const std::string& target,
                           const std::string& body = "", const Headers& headers = {}) {
  namespace http = boost::beast::http;
  HttpResult result;
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket socket(ioc);
  if (auto ec = Connect(socket, port)) {
    result.error = "connect: " + ec.message();
    return result;
  }
  http::request<http::string_body> request(http::string_to_verb(method), target, 11);
  request.set(http::field::host, "127.0.0.1");
  bool has_type = false;
  for (const auto& [k, v] : headers) {
    request.set(k, v);
    has_type |= strcasecmp(k.c_str(), "content-type") == 0;
  }
  if (!body.empty() && !has_type) request.set(http::field::content_type, "application/json");
  request.body() = body;
  request.prepare_payload();
  boost::system::error_code ec;
  http::write(socket, request, ec);
  if (ec) {
    result.error = "write: " + ec.message();
    // The server may have answered (413) before reading everything: try to read it anyway.
  }
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1ull << 30);
  http::read(socket, buffer, parser, ec);
  if (ec) {
    result.error += " read: " + ec.message();
    return result;
  }
  auto& response = parser.get();
  result.status = response.result_int();
  for (const auto& field : response) {
    auto name = field.name_string();
    auto value = field.value();
    result.headers.emplace_back(std::string(name.data(), name.size()),
                                std::string(value.data(), value.size()));
  }
  result.body = std::move(response.body());
  return result;
}

inline HttpResult PostJson(int port, const std::string& target, const Json& body,
                           const Headers& headers = {}) {
  return HttpCall(port, "POST", target, body.dump(), headers);
}

// Data payloads of an SSE body ("data: x\n\n" -> "x"), in order.
inline std::vector<std::string> SseData(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) end = body.size();
    std::string event = body.substr(pos, end - pos);
    if (event.rfind("data: ", 0) == 0) out.push_back(event.substr(6));
    pos = end + 2;
  }
  return out;
}

// A raw connection: send any bytes, read whatever comes back.
class RawConnection {
 public:
  explicit RawConnection(int port) : socket_(ioc_) { connect_error_ = Connect(socket_, port); }
  bool connected() const { return !connect_error_; }
  bool Send(const std::string& bytes) {
    boost::system::error_code ec;
    boost::asio::write(socket_, boost::asio::buffer(bytes), ec);
    return !ec;
  }
  // Reads until `needle` appears in what was received, the peer closes or the timeout passes.
  std::string ReadUntil(const std::string& needle, std::chrono::seconds timeout = std::chrono::seconds(30)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (received_.find(needle) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      boost::system::error_code ec;
      size_t n = socket_.read_some(boost::asio::buffer(buf), ec);
      if (ec) break;
      received_.append(buf, n);
    }
    return received_;
  }
  // Reads until the peer closes (or the receive timeout).
  std::string ReadAll() { return ReadUntil(std::string(1, '\0') + "never"); }
  void Close() {
    boost::system::error_code ec;
    socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }
  const std::string& received() const { return received_; }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  boost::system::error_code connect_error_;
  std::string received_;
};

}  // namespace modelrt::testing
