// Downloading one file into the store so that a half file is never where a model is expected.
//
//   DownloadSpec spec{.url = url, .dest = blob_path, .partial = blob_path + ".part",
//                     .expected_size = 4'000'000'000, .expected_sha256 = hex};
//   MODELRT_ASSIGN_OR_RETURN(DownloadResult got, DownloadFile(spec, options, on_bytes, cancel));
//
// Bytes go to `partial`, with a sidecar (`partial` + ".json") that records the server's validator
// (ETag, else Last-Modified) and how far each range got, so a later call (after a crash or a
// kill -9) resumes with `Range` + `If-Range` from the bytes on disk; a server that answers 200 to
// that (the file changed) starts it over. A file of at least `parallel_threshold` bytes whose size
// is known comes down in `parallel_parts` ranges at once. A range with no bytes for
// `stall_timeout` is dropped and asked for again from where it stopped; connection errors, 408,
// 429 and 5xx are retried with backoff (a server's Retry-After is honoured) up to `max_attempts`
// times in a row without progress. Redirects (the hub sends large files to a CDN) are followed,
// up to 10, and headers are not sent on to another host. A hub's X-Linked-Etag (the sha256 of a
// large file) and X-Linked-Size stand in for an expected sha256 or size not given. Free space is checked before the first
// byte. The whole file's sha256 is checked against `expected_sha256` (when given) before it is
// renamed to `dest`; a mismatch removes the partial file and is DataLoss-like FailedPrecondition.
// Concurrent calls for the same `partial` share one download.
//
// Errors: Cancelled (within a chunk of the signal), NotFound (404), PermissionDenied (401/403),
// ResourceExhausted (no space), Unavailable (retries spent), FailedPrecondition (size or sha256
// mismatch), InvalidArgument (a redirect loop, a bad Location).
//
// Thread-safety: DownloadFile blocks its caller (a job's worker thread) and is safe to call from
// several threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "modelrt/model.h"
#include "modelrt/status.h"
#include "net/http_client.h"

namespace modelrt::store {

struct DownloadSpec {
  net::Url url;
  std::vector<net::HttpHeader> headers;  // sent to url's host only (a token)
  std::string dest;
  std::string partial;
  int64_t expected_size = -1;    // -1 = unknown (the server's answer tells)
  std::string expected_sha256;   // "" = not known; the result says what arrived
};

struct DownloadOptions {
  std::shared_ptr<net::HttpClient> client;  // null = net::HttpClient::Shared()
  int64_t parallel_threshold = int64_t{64} << 20;
  int parallel_parts = 4;
  std::chrono::milliseconds stall_timeout{30'000};
  std::chrono::milliseconds connect_timeout{10'000};
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{30'000};
};

struct DownloadResult {
  int64_t size = 0;
  std::string sha256;
  int64_t resumed_from = 0;  // bytes already on disk when this call began
  int parts = 1;
  int retries = 0;
  bool shared = false;  // joined a download another caller had started
  std::string commit;   // X-Repo-Commit, when the server (a hub) sent one
};

// Called from the download's threads with (bytes on disk, total or -1), at most every 64 KiB.
using DownloadProgressFn = std::function<void(int64_t done, int64_t total)>;

Result<DownloadResult> DownloadFile(const DownloadSpec& spec, const DownloadOptions& options,
                                    const DownloadProgressFn& progress,
                                    const std::shared_ptr<CancelSignal>& cancel);

}  // namespace modelrt::store
