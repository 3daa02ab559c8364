// The subset of the Hugging Face hub's HTTP API that pulls need: a revision's file listing
// (`GET /api/models/{repo}/revision/{rev}?blobs=true`: the commit, and per file its size and, for
// large files, its sha256) and a file's address (`/{repo}/resolve/{commit}/{file}`). The token
// (HF_TOKEN) goes to the endpoint's host only; the downloader drops it on a redirect elsewhere.
//
//   HubOptions hub{.endpoint = HubEndpoint(config.store.hf_endpoint), .token = HubToken()};
//   MODELRT_ASSIGN_OR_RETURN(HubListing listing, ListHubRevision(hub, "owner/repo", "main", cancel));
//
// Thread-safety: free functions; ListHubRevision blocks its caller.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "modelrt/model.h"
#include "modelrt/status.h"
#include "net/http_client.h"
#include "store/source_ref.h"

namespace modelrt::store {

struct HubOptions {
  std::string endpoint = "https://huggingface.co";
  std::string token;  // "" = anonymous
  std::shared_ptr<net::HttpClient> client;  // null = net::HttpClient::Shared()
  std::chrono::milliseconds timeout{60'000};
};

// `configured` (store.hf_endpoint) when set, else $MODELRT_HF_ENDPOINT, $HF_ENDPOINT,
// https://huggingface.co; without a trailing '/'.
std::string HubEndpoint(const std::string& configured);
// $HF_TOKEN, else "".
std::string HubToken();

struct HubListing {
  std::string commit;
  std::vector<RemoteFile> files;
};

// NotFound for an unknown repo or revision, PermissionDenied for 401/403 (a gated or private
// repo without a token that may read it), Unavailable for the rest.
Result<HubListing> ListHubRevision(const HubOptions& hub, const std::string& repo,
                                   const std::string& revision,
                                   const std::shared_ptr<CancelSignal>& cancel);

// {endpoint}/{repo}/resolve/{revision}/{path}, the path percent-encoded but for '/'.
Result<net::Url> HubFileUrl(const HubOptions& hub, const std::string& repo,
                            const std::string& revision, const std::string& path);
// The Authorization header for the endpoint's host, when there is a token.
std::vector<net::HttpHeader> HubHeaders(const HubOptions& hub);

}  // namespace modelrt::store
