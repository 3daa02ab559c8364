// Request framing checks the Beast parser does not make, per RFC 9112. Beast reads a request
// whose Transfer-Encoding does not end in `chunked` as having an empty body and accepts
// obs-fold; either lets the bytes after the header be read as a second request when a proxy in
// front frames the message differently (request smuggling). Every failure here is answered with
// a 4xx/5xx and the connection closed: once the framing is in doubt, no later byte on it can be
// trusted to start a request.
//
//   std::optional<FramingError> bad = CheckRawHeader(bytes);   // before Beast parses it
//   bad = CheckFraming(fields, /*http_11=*/true);                // after
//   std::string path = OriginForm("http://host/health?x");     // "/health?x"
//
// Thread-safety: free functions over values.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modelrt::server {

struct FramingError {
  int http_status = 400;
  std::string message;
};

// Where the header section in `bytes` ends (one past its blank line), or npos while it is
// incomplete. A blank line ends it whether its line ends are CRLF or a bare LF, so that a client
// sending bare LFs is answered at once (by CheckRawHeader) instead of at the read timeout.
size_t FindHeaderEnd(std::string_view bytes);

// Checks a complete header section as received: every line ends in CRLF (a bare LF is refused:
// parsers disagree on it) and no field line is folded (obs-fold, RFC 9112 §5.2).
std::optional<FramingError> CheckRawHeader(std::string_view header);

// Checks the parsed fields that frame the body: Transfer-Encoding must be exactly `chunked`
// (a final coding other than chunked: 400; other codings before it: 501, none is supported);
// at most one Content-Length field holding one value; never both (RFC 9112 §6.3); and an
// HTTP/1.1 request has exactly one Host (§3.2).
std::optional<FramingError> CheckFraming(
    const std::vector<std::pair<std::string_view, std::string_view>>& fields, bool http_11);

// The origin-form of an absolute-form target ("http://h:1/a?b" -> "/a?b", "http://h" -> "/");
// any other target is returned as it is.
std::string OriginForm(std::string_view target);

}  // namespace modelrt::server
