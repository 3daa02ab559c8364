// The hub's listing and file addresses; see hub_api.h.
#include "store/hub_api.h"

#include <cctype>
#include <condition_variable>
#include <cstdlib>
#include <mutex>

#include "core/json.h"
#include "store/confined_path.h"

namespace modelrt::store {
namespace {

std::string PercentEncode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Result<net::HttpResponse> FetchBlocking(const HubOptions& hub, net::HttpRequest request,
                                        const std::shared_ptr<CancelSignal>& cancel) {
  auto client = hub.client ? hub.client : net::HttpClient::Shared();
  net::HttpCallOptions call;
  call.deadline = Clock::now() + hub.timeout;
  call.cancel = cancel;
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<net::HttpResponse>> answer;
  client->Fetch(std::move(request), call, [&](Result<net::HttpResponse> r) {
    std::lock_guard<std::mutex> lock(mu);
    answer = std::move(r);
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return answer.has_value(); });
  return std::move(*answer);
}

}  // namespace

std::string HubEndpoint(const std::string& configured) {
  std::string endpoint = configured;
  for (const char* name : {"MODELRT_HF_ENDPOINT", "HF_ENDPOINT"}) {
    if (!endpoint.empty()) break;
    if (const char* value = std::getenv(name); value != nullptr) endpoint = value;
  }
  if (endpoint.empty()) endpoint = "https://huggingface.co";
  while (endpoint.size() > 1 && endpoint.back() == '/') endpoint.pop_back();
  return endpoint;
}

std::string HubToken() {
  const char* token = std::getenv("HF_TOKEN");
  return token == nullptr ? "" : token;
}

std::vector<net::HttpHeader> HubHeaders(const HubOptions& hub) {
  if (hub.token.empty()) return {};
  return {{"Authorization", "Bearer " + hub.token}};
}

Result<net::Url> HubFileUrl(const HubOptions& hub, const std::string& repo,
                            const std::string& revision, const std::string& path) {
  return net::ParseUrl(hub.endpoint + "/" + repo + "/resolve/" + PercentEncode(revision, false) +
                       "/" + PercentEncode(path, true));
}

Result<HubListing> ListHubRevision(const HubOptions& hub, const std::string& repo,
                                   const std::string& revision,
                                   const std::shared_ptr<CancelSignal>& cancel) {
  MODELRT_ASSIGN_OR_RETURN(net::Url url,
                           net::ParseUrl(hub.endpoint + "/api/models/" + repo + "/revision/" +
                                         PercentEncode(revision, false) + "?blobs=true"));
  net::HttpRequest request;
  request.method = "GET";
  request.url = url;
  request.headers = HubHeaders(hub);
  Result<net::HttpResponse> response = FetchBlocking(hub, std::move(request), cancel);
  const std::string where = repo + "@" + revision + " at " + hub.endpoint;
  if (!response.ok()) {
    return Status(response.error().code(), "listing " + where + ": " + response.error().message());
  }
  int status = response->head.status;
  if (status == 404) return NotFoundError("no repo or revision " + where);
  if (status == 401 || status == 403) {
    return PermissionDeniedError("listing " + where + " was refused (HTTP " + std::to_string(status) +
                                 "): a gated or private repo needs HF_TOKEN");
  }
  if (status != 200) return UnavailableError("listing " + where + ": HTTP " + std::to_string(status));
  Json json = Json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("siblings") || !json["siblings"].is_array()) {
    return UnavailableError("listing " + where + ": not a hub revision answer");
  }
  HubListing listing;
  if (json.contains("sha") && json["sha"].is_string()) listing.commit = json["sha"].get<std::string>();
  for (const Json& sibling : json["siblings"]) {
    if (!sibling.is_object() || !sibling.contains("rfilename") || !sibling["rfilename"].is_string()) continue;
    RemoteFile file;
    file.path = sibling["rfilename"].get<std::string>();
    // A listing names files the store will create: each must be a plain relative path.
    if (!CheckRelativePath(file.path).ok()) {
      return InvalidArgumentError("listing " + where + " names an unsafe path '" + file.path + "'");
    }
    if (sibling.contains("size") && sibling["size"].is_number_integer()) file.size = sibling["size"].get<int64_t>();
    if (sibling.contains("lfs") && sibling["lfs"].is_object()) {
      const Json& lfs = sibling["lfs"];
      if (lfs.contains("sha256") && lfs["sha256"].is_string()) file.sha256 = lfs["sha256"].get<std::string>();
      if (lfs.contains("size") && lfs["size"].is_number_integer()) file.size = lfs["size"].get<int64_t>();
    }
    listing.files.push_back(std::move(file));
  }
  return listing;
}

}  // namespace modelrt::store
