// Test fixture: a local server that speaks the subset of the Hugging Face hub that pulls use,
// over two real UpstreamServers on loopback: the hub itself (the revision listing
// /api/models/{repo}/revision/{rev}, and /{repo}/resolve/{rev}/{file}) and a "CDN" on another
// port that large (LFS) files redirect to, as the real hub does. Both honour Range and If-Range
// against the file's ETag. A fault hook can answer any request instead (429, 503, a reset, a
// body cut short, a slow stream).
//
//   HubServer hub;
//   hub.AddRepo("owner/repo", "c0ffee", {{"config.json", "{}"}, {"model.gguf", big}});
//   store options: hub.endpoint = hub.url();
//   hub.SetFault([](const UpstreamRequestSeen& r, int n) -> std::optional<UpstreamReply> { ... });
//
// Files of at least `lfs_threshold` bytes (default 1 KiB) are LFS: listed with their sha256 and
// served through the CDN redirect with X-Linked-Etag / X-Linked-Size / X-Repo-Commit.
//
// Thread-safety: configure before the requests it answers; requests() from any thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "support/upstream_server.h"

namespace modelrt::testing {

class HubServer {
 public:
  // The hook sees every request (hub and CDN) with its 1-based number; nullopt = answer normally.
  using Fault = std::function<std::optional<UpstreamReply>(const UpstreamRequestSeen&, int n)>;

  explicit HubServer(size_t lfs_threshold = 1024);
  // `branch` ("main") names `commit` too.
  void AddRepo(const std::string& repo, const std::string& commit,
               std::map<std::string, std::string> files, const std::string& branch = "main");
  // Lists `path` with this sha256 instead of the real one (a corrupt upstream).
  void LieAboutSha256(const std::string& repo, const std::string& path, const std::string& sha256);
  void SetFault(Fault fault);
  // Serve file bodies in chunks of `bytes`, `delay` apart (a slow link); 0 = whole bodies.
  void SetSlow(size_t bytes, std::chrono::milliseconds delay);

  std::string url() const { return hub_->url(); }
  std::string cdn_url() const { return cdn_->url(); }
  // Both servers' requests, hub first then CDN, each in arrival order.
  std::vector<UpstreamRequestSeen> hub_requests() const { return hub_->requests(); }
  std::vector<UpstreamRequestSeen> cdn_requests() const { return cdn_->requests(); }

 private:
  struct Repo {
    std::string commit;
    std::map<std::string, std::string> files;
    std::map<std::string, std::string> listed_sha;  // overrides
  };
  UpstreamReply Answer(const UpstreamRequestSeen& request, bool cdn);
  UpstreamReply Serve(const UpstreamRequestSeen& request, const std::string& content,
                      const std::string& etag, std::vector<std::pair<std::string, std::string>> extra);
  const Repo* FindRepo(const std::string& repo, const std::string& rev) const;

  size_t lfs_threshold_;
  mutable std::mutex mu_;
  std::map<std::string, Repo> repos_;                     // by repo name
  std::map<std::string, std::string> branches_;           // "repo@branch" -> commit
  std::map<std::string, std::string> blobs_;              // sha256 -> content (the CDN)
  Fault fault_;
  size_t slow_bytes_ = 0;
  std::chrono::milliseconds slow_delay_{0};
  int seen_ = 0;
  std::unique_ptr<UpstreamServer> cdn_;
  std::unique_ptr<UpstreamServer> hub_;
};

}  // namespace modelrt::testing
