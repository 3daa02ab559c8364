#include "server/chunked_response_stream.h"

#include <cstdio>

namespace modelrt::server {

ChunkedResponseStream::ChunkedResponseStream(PostBegin post_begin, PostChunk post_chunk,
                                             CallContext call, size_t max_pending_bytes)
    : post_begin_(std::move(post_begin)),
      post_chunk_(std::move(post_chunk)),
      call_(std::move(call)),
      max_pending_(max_pending_bytes) {}

std::string ChunkedResponseStream::Frame(std::string_view data) {
  char size[20];
  int n = std::snprintf(size, sizeof(size), "%zx\r\n", data.size());
  std::string frame;
  frame.reserve(data.size() + static_cast<size_t>(n) + 2);
  frame.append(size, static_cast<size_t>(n)).append(data).append("\r\n");
  return frame;
}

bool ChunkedResponseStream::Begin(int status, HttpHeaders headers) {
  if (started_.exchange(true)) return alive_.load();
  if (!post_begin_(status, std::move(headers))) Kill();
  return alive_.load();
}

bool ChunkedResponseStream::Write(std::string data) {
  if (!alive_.load()) return false;
  if (data.empty()) return true;
  std::string frame = Frame(data);
  if (pending_.fetch_add(frame.size()) + frame.size() > max_pending_) {
    // The client reads slower than we produce: drop it rather than buffer without bound.
    Kill();
    return false;
  }
  if (!post_chunk_(std::move(frame))) {
    Kill();
    return false;
  }
  return true;
}

void ChunkedResponseStream::Kill() {
  alive_.store(false);
  call_.Cancel();
}

}  // namespace modelrt::server
