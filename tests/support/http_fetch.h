// Test support: one HTTP call through net::HttpClient, waited for.
//
//   Result<net::HttpResponse> r = FetchAndWait({.method = "GET", .url = *net::ParseUrl(url)});
//
// Thread-safety: thread-safe; never from the client's own loop thread (it would wait on itself).
#pragma once

#include <chrono>
#include <future>

#include "net/http_client.h"

namespace modelrt::testing {

// `client` null: HttpClient::Shared(). No deadline in `options`: 60 s.
inline Result<net::HttpResponse> FetchAndWait(net::HttpRequest request,
                                              net::HttpCallOptions options = {},
                                              net::HttpClient* client = nullptr) {
  if (options.deadline == Clock::time_point::max()) {
    options.deadline = Clock::now() + std::chrono::seconds(60);
  }
  std::promise<Result<net::HttpResponse>> promise;
  (client ? *client : *net::HttpClient::Shared())
      .Fetch(std::move(request), std::move(options),
             [&](Result<net::HttpResponse> r) { promise.set_value(std::move(r)); });
  return promise.get_future().get();
}

}  // namespace modelrt::testing
