// HttpSession: one client connection (Boost.Beast over a strand). Reads requests one after the
// other (keep-alive), answers cheap routes on the I/O thread and hands model calls to the
// blocking executor, then writes the response — whole, or as chunked SSE while the handler
// streams. Every response carries X-Request-Id; every request ends in one access-log line.
//
// Request lifecycle (all transitions on the session's strand):
//
//   reading ──header+body──► handling ──response──► writing ──► reading (keep-alive)
//      │  body over limit → 413, bad HTTP → 400     │  SSE: header, chunks…, last chunk
//      │  bad framing (request_framing.h) → 4xx and close
//      └──EOF/timeout/drain──► closed ◄─────────────┘  write error / peer gone → closed
//
// While a request is handled the session watches the socket: when the client closes it, the
// request's CallContext is cancelled so the engine stops and frees its slot.
//
//   std::make_shared<HttpSession>(std::move(socket), host)->Start();
//
// Thread-safety: public methods may be called from any thread; all state is on the strand,
// except the ChunkedResponseStream, which the handler's thread uses (thread-safe).
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "server/chunked_response_stream.h"
#include "server/http_message.h"
#include "server/request_context.h"
#include "server/request_framing.h"
#include "server/session_host.h"

namespace modelrt::server {

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<SessionHost> host);
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  void Start();
  // Draining: closes the connection if no request is in progress and none has begun to arrive
  // (no byte of it read or waiting in the socket). A request that is arriving is read and
  // answered with Connection: close, and counted by the host (a hold) until it is in flight, so
  // the drain waits for it; the client could not know the server was about to close.
  void CloseIfIdle();
  // Cancels the request in progress, if any (drain past its grace period), and closes a
  // connection whose request is still arriving.
  void CancelRequest();

 private:
  using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

  void DoReadHeader();
  void ReadRawHeader();
  void OnReadHeader(boost::beast::error_code ec);
  void DoReadBody();
  void OnReadBody(boost::beast::error_code ec);
  void OnReadError(boost::beast::error_code ec);
  // Answers a request whose framing is bad (or unreadable) and closes the connection.
  void RefuseFraming(const FramingError& bad);
  void BeginRequest();
  void Dispatch();
  void OnHandlerDone(HttpResponse response);
  void WatchForDisconnect();
  void OnPeerGone();
  void WriteResponse(HttpResponse response, bool close);
  void FinishRequest(bool close);

  // SSE, posted to the strand by the ChunkedResponseStream.
  void StreamBegin(int status, HttpHeaders headers);
  void StreamEnqueue(std::string chunk);
  void StreamWriteNext();
  void OnStreamWrite(boost::beast::error_code ec);
  void StreamFailed();

  void Close();
  // True when the socket holds unread bytes (the start of a request this session has not read).
  bool BytesWaiting();
  void DropDrainHold();
  // Sends nothing more, reads what the client still sends for a moment, then closes: a client
  // that is still uploading a refused body then sees the response instead of a reset.
  void LingeringClose();

  // A session reference counted by the host (SessionHost::HoldTaken) until it is dropped.
  struct HeldSession {
    HeldSession(std::shared_ptr<HttpSession> s, std::shared_ptr<SessionHost> h)
        : host(std::move(h)), session(std::move(s)) {
      host->HoldTaken();
    }
    ~HeldSession() {
      session.reset();  // first: this may destroy the session, while the host still waits
      host->HoldDropped();
    }
    HeldSession(const HeldSession&) = delete;
    HeldSession& operator=(const HeldSession&) = delete;
    std::shared_ptr<SessionHost> host;
    std::shared_ptr<HttpSession> session;
  };

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::shared_ptr<SessionHost> host_;
  std::optional<Parser> parser_;
  std::string remote_;

  // The request in progress (strand only).
  bool in_request_ = false;
  // The first bytes of the next request were read; in_request_ once it is read in full.
  bool reading_request_ = false;
  // A hold on the host (SessionHost::HoldTaken) for a request that was arriving when the drain
  // began; dropped once that request is in flight (BeginRequest) or the connection closes.
  bool drain_hold_ = false;
  bool closed_ = false;
  int64_t body_limit_ = 0;  // the request's (its route may allow more than the default)
  uint64_t request_seq_ = 0;
  HttpRequest request_;
  RequestContext ctx_;
  bool keep_alive_ = true;
  bool peer_gone_ = false;
  // The whole response reached the socket: the client leaving afterwards is no 499.
  bool response_written_ = false;
  bool linger_ = false;  // close after the response the way LingeringClose does
  int status_ = 0;
  std::chrono::steady_clock::time_point started_;

  // Streaming (strand only; response_stream_ itself is thread-safe).
  std::shared_ptr<ChunkedResponseStream> response_stream_;
  bool stream_header_sent_ = false;
  bool stream_writing_ = false;
  bool stream_failed_ = false;
  bool stream_ending_ = false;  // the handler returned: send the last chunk after the queue
  std::deque<std::string> stream_queue_;
  std::vector<std::string> stream_batch_;  // chunks being written now
};

}  // namespace modelrt::server
