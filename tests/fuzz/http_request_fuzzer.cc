// Arbitrary bytes as what a client sends on one connection, read as HttpSession reads it
// (src/server/http_session.cc): the header section is found in the raw bytes (FindHeaderEnd)
// and checked as received (CheckRawHeader); Beast's request_parser then parses it, under the
// session's header and body limits; the parsed fields are checked for framing (CheckFraming);
// the body is read; the target is taken to its origin form; and on a keep-alive connection the
// bytes after the request start the next one (pipelining), up to 16 requests.
//
// Beyond "no crash", the target checks what request smuggling is about: that our checks and
// Beast agree on where the header ends and how long the body is. A request that passed the
// checks has a chunked body when it has Transfer-Encoding at all, a body of exactly its
// Content-Length otherwise, and none when it has neither.
//
// The server's 64 KiB header limit is scaled down to 4 KiB, so that inputs of the sizes libFuzzer
// makes reach it; everything else is as the session does it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

#include "core/ascii_case.h"
#include "fuzz_util.h"
#include "server/request_framing.h"

namespace {

namespace http = boost::beast::http;
namespace net = boost::asio;
using modelrt::fuzz::Fail;

constexpr uint32_t kHeaderLimit = 4 << 10;
constexpr uint64_t kBodyLimit = 8 << 20;  // server.max_body_bytes' default

std::string_view ToStd(boost::beast::string_view s) { return {s.data(), s.size()}; }

// One request from the front of `rest`; false when the connection ends (refused, incomplete,
// or not kept alive).
bool ReadOneRequest(std::string_view& rest) {
  using modelrt::server::CheckFraming;
  using modelrt::server::CheckRawHeader;
  using modelrt::server::FindHeaderEnd;
  using modelrt::server::OriginForm;
  const size_t end = FindHeaderEnd(rest);
  if (end == std::string_view::npos) {
    // The session waits for more bytes (and times out) unless the header is already too long.
    if (rest.size() <= kHeaderLimit) return false;
  } else {
    if (end > rest.size()) Fail("FindHeaderEnd past the bytes");
    if (CheckRawHeader(rest.substr(0, end))) return false;  // 400, connection closed
    // The start line's target, as the session cuts it to look up the route's body limit.
    std::string_view line = rest.substr(0, rest.find('\n'));
    size_t method_end = line.find(' ');
    size_t target_end = line.find(' ', method_end + 1);
    if (method_end != std::string_view::npos && target_end != std::string_view::npos) {
      std::string_view target = line.substr(method_end + 1, target_end - method_end - 1);
      (void)target.substr(0, target.find('?'));
    }
  }

  http::request_parser<http::string_body> parser;
  parser.body_limit(kBodyLimit);
  parser.header_limit(kHeaderLimit);
  boost::beast::error_code ec;
  // async_read_header: put() until the header is done (Beast stops right after it).
  size_t header_bytes = 0;
  while (!parser.is_header_done()) {
    size_t n = parser.put(net::buffer(rest.data() + header_bytes, rest.size() - header_bytes), ec);
    header_bytes += n;
    if (ec) return false;  // need_more: the client went quiet; else 400 or 431
    if (n == 0) return false;
  }
  if (end != std::string_view::npos && header_bytes != end) {
    std::fprintf(stderr, "header end: ours %zu, Beast's %zu\n", end, header_bytes);
    Fail("FindHeaderEnd and Beast disagree on where the header ends");
  }
  rest.remove_prefix(header_bytes);

  auto& message = parser.get();
  std::vector<std::pair<std::string_view, std::string_view>> fields;
  bool has_transfer_encoding = false;
  std::optional<std::string_view> content_length;
  for (const auto& field : message) {
    fields.emplace_back(ToStd(field.name_string()), ToStd(field.value()));
    if (modelrt::EqualsIgnoreCase(fields.back().first, "Transfer-Encoding")) {
      has_transfer_encoding = true;
    }
    if (modelrt::EqualsIgnoreCase(fields.back().first, "Content-Length")) {
      content_length = fields.back().second;
    }
  }
  if (CheckFraming(fields, message.version() >= 11)) return false;  // 4xx/501, closed

  // async_read: the body, eagerly, from the bytes left.
  parser.eager(true);
  while (!parser.is_done()) {
    if (rest.empty()) {
      parser.put_eof(ec);  // the client closed mid-body: partial_message, nothing answered
      return false;
    }
    size_t n = parser.put(net::buffer(rest.data(), rest.size()), ec);
    rest.remove_prefix(n);
    if (ec == http::error::need_more) {
      // A chunk line not complete in what is here: the session reads on (until the body
      // timeout); here no more bytes come.
      if (n == 0) {
        parser.put_eof(ec);
        return false;
      }
      continue;
    }
    if (ec) return false;  // 413 (body_limit) or 400, closed
  }

  // What the framing checks promise about the body Beast read.
  const std::string& body = message.body();
  if (has_transfer_encoding && !parser.chunked()) {
    Fail("a request with Transfer-Encoding passed the checks without a chunked body");
  }
  if (!has_transfer_encoding) {
    if (content_length) {
      if (!parser.content_length() || *parser.content_length() != body.size()) {
        Fail("a body whose size is not its Content-Length");
      }
    } else if (!body.empty()) {
      Fail("a body without Content-Length or Transfer-Encoding");
    }
  }

  // BeginRequest: the request as the handlers get it.
  std::string target = OriginForm(ToStd(message.target()));
  if (!target.empty() && message.target().starts_with("/") && target != ToStd(message.target())) {
    Fail("OriginForm changed an origin-form target");
  }
  (void)target.substr(0, target.find('?'));
  return message.keep_alive();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  modelrt::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (int i = 0; i < 16 && !rest.empty(); ++i) {
    if (!ReadOneRequest(rest)) break;
  }
  return 0;
}
