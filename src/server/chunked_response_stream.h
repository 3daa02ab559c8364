// ChunkedResponseStream: the handler's side of a streamed (chunked, SSE) response. Write never
// blocks: it frames the data as an HTTP/1.1 chunk and hands it to the session (which posts it to
// its strand); atomics let the handler see a dead or hopelessly slow client without a round
// trip, so a generation stops at its next token.
//
//   auto stream = std::make_shared<ChunkedResponseStream>(post_begin, post_chunk, ctx.call, 8 << 20);
//   stream->Begin(200, headers);
//   if (!stream->Write("data: ...\n\n")) stop();
//
// Thread-safety: Begin/Write from the handler's thread (one at a time); Kill, the pending-byte
// accounting and alive() from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "modelrt/model.h"
#include "server/request_context.h"

namespace modelrt::server {

class ChunkedResponseStream : public ResponseStream {
 public:
  // Each returns false when the session is gone. Both must only queue work, never block.
  using PostBegin = std::function<bool(int status, HttpHeaders headers)>;
  using PostChunk = std::function<bool(std::string frame)>;

  // `call` is cancelled by Kill; `max_pending_bytes` bounds what a slow client may leave queued.
  ChunkedResponseStream(PostBegin post_begin, PostChunk post_chunk, CallContext call,
                        size_t max_pending_bytes);

  bool Begin(int status, HttpHeaders headers) override;
  bool Write(std::string data) override;
  bool started() const override { return started_.load(); }

  bool alive() const { return alive_.load(); }
  // The client is gone: later writes fail and the call is cancelled.
  void Kill();
  // Bytes queued but not yet written (the session adds its own header and trailer).
  void AddPending(size_t n) { pending_.fetch_add(n); }
  void SubPending(size_t n) { pending_.fetch_sub(n); }

  // "<hex size>\r\n<data>\r\n"
  static std::string Frame(std::string_view data);
  static constexpr std::string_view kLastChunk = "0\r\n\r\n";

 private:
  PostBegin post_begin_;
  PostChunk post_chunk_;
  CallContext call_;
  const size_t max_pending_;
  std::atomic<bool> started_{false};
  std::atomic<bool> alive_{true};
  std::atomic<size_t> pending_{0};
};

}  // namespace modelrt::server
