// Request and response ids.
//
//   std::string id = RequestIdFor(request.Header("X-Request-Id"));  // echoed when usable
//   std::string cmpl = NewResponseId("chatcmpl-");                  // "chatcmpl-3f9a..."
//
// Thread-safety: thread-safe (a random engine per thread).
#pragma once

#include <string>
#include <string_view>

namespace modelrt::server {

// The client's id when it is 1..128 printable ASCII characters without spaces (so it cannot
// break a log line or a header), else a fresh random one.
std::string RequestIdFor(std::string_view client_value);

// `prefix` followed by 24 random hex digits.
std::string NewResponseId(std::string_view prefix);

}  // namespace modelrt::server
