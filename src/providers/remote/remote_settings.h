// The settings of a remote provider, read once from its ProviderConfig: where the upstream is,
// the key that opens it, and how patient to be with it.
//
//   providers:
//     - id: openai
//       type: openai
//       base_url: https://api.openai.com/v1    # each type has a default where one exists
//       api_key_env: OPENAI_API_KEY             # or api_key_file: /run/secrets/openai
//       options: { timeout_s: 60, max_retries: 2, connect_timeout_s: 10,
//                  first_token_timeout_s: 30, stream_idle_timeout_s: 30,
//                  breaker_failures: 5, breaker_cool_down_s: 10,
//                  headers: { OpenAI-Organization: org-1 }, ca_file: /etc/ssl/private-ca.pem,
//                  probe: true }
//     - id: vertex
//       type: vertex                            # base_url from project and location
//       options: { project: my-project, location: us-central1,
//                  token_command: "gcloud auth print-access-token", token_refresh_s: 3000 }
//
// The key is read here, at start and on each admin change of the provider, so that a missing
// variable or file is one clear error then, never a failure of the first request. The key is
// kept in memory only: never logged, never in an error, never in /admin output. A key that
// expires comes from `token_command` or `token_file` instead (any type; Vertex needs one) and
// is sent where the type sends its key; the first one is fetched here too.
//
// Thread-safety: a value, immutable once read (`token` is a thread-safe object).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "modelrt/catalog.h"
#include "modelrt/status.h"
#include "net/http_client.h"
#include "net/url.h"
#include "providers/remote/token_source.h"

namespace modelrt::remote {

struct RemoteSettings {
  std::string provider_id;
  std::string type;
  net::Url base;
  std::string api_key;  // may be empty when the upstream needs none (a local llama-server)
  std::shared_ptr<TokenSource> token;  // when set, its token is sent instead of api_key
  std::chrono::milliseconds timeout{60'000};  // per call, every attempt included
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds first_token_timeout{0};  // 0 = the call's deadline only
  std::chrono::milliseconds stream_idle_timeout{0};
  int max_retries = 2;
  int breaker_failures = 5;
  std::chrono::milliseconds breaker_cool_down{10'000};
  std::vector<net::HttpHeader> headers;  // sent with every request
  std::string ca_file;
  bool probe = true;  // Load checks the upstream answers (a models list or the type's probe)
  // Type-specific settings, read by the wire formats: Azure's api_version, Anthropic's version.
  std::string api_version;
};

// `default_base_url` is the type's public endpoint ("" = base_url is required); "{project}" and
// "{location}" in it come from the options of those names (Vertex). Errors are
// InvalidArgument naming the key: "cat.yaml: providers[1]: api_key_env: variable OPENAI_API_KEY
// is not set".
Result<RemoteSettings> ReadRemoteSettings(const ProviderConfig& config,
                                          const std::string& default_base_url);

}  // namespace modelrt::remote
