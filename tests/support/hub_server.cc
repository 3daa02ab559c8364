#include "support/hub_server.h"

#include "core/json.h"
#include "core/sha256.h"

namespace modelrt::testing {
namespace {

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

// "bytes=a-b" / "bytes=a-" -> [a, b]; nullopt when absent or unparsable.
std::optional<std::pair<size_t, size_t>> ParseRange(const std::string& header, size_t size) {
  if (header.rfind("bytes=", 0) != 0) return std::nullopt;
  size_t dash = header.find('-');
  if (dash == std::string::npos) return std::nullopt;
  try {
    size_t start = std::stoull(header.substr(6, dash - 6));
    std::string end_text = header.substr(dash + 1);
    size_t end = end_text.empty() ? size - 1 : std::stoull(end_text);
    if (end >= size) end = size - 1;
    return std::make_pair(start, end);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

HubServer::HubServer(size_t lfs_threshold) : lfs_threshold_(lfs_threshold) {
  cdn_ = std::make_unique<UpstreamServer>([this](const UpstreamRequestSeen& r) { return Answer(r, true); });
  hub_ = std::make_unique<UpstreamServer>([this](const UpstreamRequestSeen& r) { return Answer(r, false); });
}

void HubServer::AddRepo(const std::string& repo, const std::string& commit,
                        std::map<std::string, std::string> files, const std::string& branch) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [path, content] : files) blobs_[Sha256Hex(content)] = content;
  repos_[repo] = Repo{commit, std::move(files), {}};
  branches_[repo + "@" + branch] = commit;
  branches_[repo + "@" + commit] = commit;
}

void HubServer::LieAboutSha256(const std::string& repo, const std::string& path,
                               const std::string& sha256) {
  std::lock_guard<std::mutex> lock(mu_);
  repos_[repo].listed_sha[path] = sha256;
}

void HubServer::SetFault(Fault fault) {
  std::lock_guard<std::mutex> lock(mu_);
  fault_ = std::move(fault);
}

void HubServer::SetSlow(size_t bytes, std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> lock(mu_);
  slow_bytes_ = bytes;
  slow_delay_ = delay;
}

const HubServer::Repo* HubServer::FindRepo(const std::string& repo, const std::string& rev) const {
  auto branch = branches_.find(repo + "@" + rev);
  auto it = repos_.find(repo);
  if (branch == branches_.end() || it == repos_.end() || it->second.commit != branch->second) {
    return nullptr;
  }
  return &it->second;
}

UpstreamReply HubServer::Serve(const UpstreamRequestSeen& request, const std::string& content,
                               const std::string& etag,
                               std::vector<std::pair<std::string, std::string>> extra) {
  UpstreamReply reply;
  reply.headers = std::move(extra);
  reply.headers.push_back({"Content-Type", "application/octet-stream"});
  reply.headers.push_back({"ETag", etag});
  reply.headers.push_back({"Accept-Ranges", "bytes"});
  std::string range = request.Header("range");
  std::string if_range = request.Header("if-range");
  std::optional<std::pair<size_t, size_t>> parsed;
  if (!range.empty() && (if_range.empty() || if_range == etag)) parsed = ParseRange(range, content.size());
  std::string body = content;
  reply.status = 200;
  if (parsed) {
    if (parsed->first >= content.size()) {
      reply.status = 416;
      reply.headers.push_back({"Content-Range", "bytes */" + std::to_string(content.size())});
      return reply;
    }
    reply.status = 206;
    body = content.substr(parsed->first, parsed->second - parsed->first + 1);
    reply.headers.push_back({"Content-Range", "bytes " + std::to_string(parsed->first) + "-" +
                                                  std::to_string(parsed->second) + "/" +
                                                  std::to_string(content.size())});
  }
  if (slow_bytes_ > 0 && !body.empty()) {
    for (size_t i = 0; i < body.size(); i += slow_bytes_) reply.chunks.push_back(body.substr(i, slow_bytes_));
    reply.chunk_delay = slow_delay_;
  } else {
    reply.body = std::move(body);
  }
  return reply;
}

UpstreamReply HubServer::Answer(const UpstreamRequestSeen& request, bool cdn) {
  std::unique_lock<std::mutex> lock(mu_);
  int n = ++seen_;
  if (fault_) {
    Fault fault = fault_;
    lock.unlock();
    if (std::optional<UpstreamReply> reply = fault(request, n)) return *reply;
    lock.lock();
  }
  const std::string& target = request.target;
  if (cdn) {
    // /cdn/<sha256>
    std::string sha = target.substr(target.rfind('/') + 1);
    auto it = blobs_.find(sha);
    if (target.rfind("/cdn/", 0) != 0 || it == blobs_.end()) return UpstreamReply::Json(404, "{}");
    return Serve(request, it->second, Quoted(sha), {});
  }
  const std::string api = "/api/models/";
  if (target.rfind(api, 0) == 0) {
    std::string rest = target.substr(api.size());
    rest = rest.substr(0, rest.find('?'));
    size_t at = rest.find("/revision/");
    if (at == std::string::npos) return UpstreamReply::Json(404, R"({"error":"Not Found"})");
    const Repo* repo = FindRepo(rest.substr(0, at), rest.substr(at + 10));
    if (repo == nullptr) return UpstreamReply::Json(404, R"({"error":"Repository not found"})");
    Json siblings = Json::array();
    for (const auto& [path, content] : repo->files) {
      Json entry = {{"rfilename", path}, {"size", content.size()}};
      if (content.size() >= lfs_threshold_) {
        auto lie = repo->listed_sha.find(path);
        entry["lfs"] = {{"sha256", lie != repo->listed_sha.end() ? lie->second : Sha256Hex(content)},
                        {"size", content.size()}};
      }
      siblings.push_back(entry);
    }
    return UpstreamReply::Json(200, Json({{"sha", repo->commit}, {"siblings", siblings}}).dump());
  }
  // /{owner}/{repo}/resolve/{rev}/{path}
  size_t resolve = target.find("/resolve/");
  if (resolve == std::string::npos) return UpstreamReply::Json(404, "{}");
  std::string repo_name = target.substr(1, resolve - 1);
  std::string rest = target.substr(resolve + 9);
  size_t slash = rest.find('/');
  if (slash == std::string::npos) return UpstreamReply::Json(404, "{}");
  const Repo* repo = FindRepo(repo_name, rest.substr(0, slash));
  if (repo == nullptr) return UpstreamReply::Json(404, R"({"error":"Repository not found"})");
  auto file = repo->files.find(rest.substr(slash + 1));
  if (file == repo->files.end()) return UpstreamReply::Json(404, R"({"error":"Entry not found"})");
  const std::string sha = Sha256Hex(file->second);
  std::vector<std::pair<std::string, std::string>> hub_headers = {{"X-Repo-Commit", repo->commit}};
  if (file->second.size() >= lfs_threshold_) {
    UpstreamReply redirect;
    redirect.status = 302;
    redirect.headers = hub_headers;
    redirect.headers.push_back({"Location", cdn_->url() + "/cdn/" + sha});
    redirect.headers.push_back({"X-Linked-Etag", Quoted(sha)});
    redirect.headers.push_back({"X-Linked-Size", std::to_string(file->second.size())});
    redirect.headers.push_back({"Content-Type", "text/plain"});
    redirect.body = "Found. Redirecting";
    return redirect;
  }
  return Serve(request, file->second, Quoted(sha.substr(0, 40)), hub_headers);
}

}  // namespace modelrt::testing
