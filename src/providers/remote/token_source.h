// TokenSource: a credential that expires, for upstreams whose key is not fixed (Vertex AI's OAuth
// access tokens live an hour). It comes from a command that prints it (`token_command:
// gcloud auth print-access-token`, run by /bin/sh) or from a file that something else keeps
// fresh (`token_file:`, as a sidecar or a workload-identity agent writes it).
//
// The first token is fetched by Create, so a command that fails is a config error at start or on
// the admin PUT, never the first request's. After that a token older than `refresh_every` is
// fetched again in the background while calls go on with the one they have: no call waits for a
// refresh. An upstream that refuses a token (401/403) asks for a newer one with RefreshAfter;
// refusals of the same token share one fetch.
//
//   auto source = TokenSource::Create({.command = "gcloud auth print-access-token"});
//   TokenSource::Token t = (*source)->Current();   // headers: "authorization: Bearer " + t.value
//   ... 401 ... (*source)->RefreshAfter(t.generation, [](Status s) { if (s.ok()) retry(); });
//
// Fetches run on a short-lived thread of their own that holds the source alive (detached: a fetch
// ends by its command timeout); the command's output is never logged or put in an error.
//
// Thread-safety: thread-safe. RefreshAfter's callback runs on the fetching thread, or on the
// caller's when a newer token is already there.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_annotations.h"
#include "modelrt/model.h"
#include "modelrt/status.h"

namespace modelrt::remote {

class TokenSource : public std::enable_shared_from_this<TokenSource> {
 public:
  struct Options {
    std::string command;  // run by /bin/sh -c; its stdout, trimmed, is the token
    std::string file;     // or this file's content, trimmed
    std::chrono::milliseconds refresh_every{std::chrono::minutes(50)};
    std::chrono::milliseconds command_timeout{std::chrono::seconds(30)};
    std::string where;  // "cat.yaml: providers[2]", the start of every error
  };
  struct Token {
    std::string value;
    uint64_t generation = 0;  // 1 for the first token, +1 for each one fetched after it
  };

  // Fetches the first token. Errors are InvalidArgument naming the option: "<where>:
  // options.token_command: exited with status 1: <its first line of stderr>".
  static Result<std::shared_ptr<TokenSource>> Create(Options options);

  // The newest token; starts a background fetch when it is older than refresh_every.
  Token Current();
  // The upstream refused the token of generation `refused`: `done(OK)` once a newer one is
  // there (at once when it already is), or `done(error)` when fetching one failed.
  void RefreshAfter(uint64_t refused, std::function<void(Status)> done);

 private:
  explicit TokenSource(Options options) : options_(std::move(options)) {}
  Result<std::string> Fetch() const;
  void StartFetch() REQUIRES(mu_);
  void FinishFetch(Result<std::string> fetched);

  const Options options_;
  Mutex mu_;
  Token token_ GUARDED_BY(mu_);
  Clock::time_point fetched_at_ GUARDED_BY(mu_);
  bool fetching_ GUARDED_BY(mu_) = false;
  std::vector<std::function<void(Status)>> waiting_ GUARDED_BY(mu_);
};

}  // namespace modelrt::remote
