#include "server/in_process_gateway.h"

#include "server/request_id.h"

namespace modelrt::server {

std::string InProcessGateway::AliasOf(std::string_view model) const {
  Result<ResolvedModel> resolved = resolver_.Resolve(model);
  return resolved ? resolved->alias : std::string(model);
}

void InProcessGateway::Call(std::string endpoint, std::string model, std::string body,
                            CallContext ctx, std::function<void(jobs::InferenceReply)> done) {
  const ApiService* api = api_.load();
  if (api == nullptr) {
    done({503, R"({"error":{"message":"the API is not ready","type":"server_error"}})", ""});
    return;
  }
  const std::string alias = AliasOf(model);
  {
    MutexLock lock(mu_);
    ++own_[alias];
  }
  HttpRequest request;
  request.method = "POST";
  request.target = endpoint;
  request.path = std::move(endpoint);
  request.headers.Set("Content-Type", "application/json");
  request.body = std::move(body);
  request.remote = "job";
  // The context lives until the handler's answer: the finish callback owns it.
  auto rc = std::make_shared<RequestContext>();
  rc->request_id = RequestIdFor("");
  rc->call = std::move(ctx);
  rc->call.request_id = rc->request_id;
  auto finished = std::make_shared<std::atomic<bool>>(false);
  auto answer = [this, alias, rc, finished, done = std::move(done)](HttpResponse response) {
    if (finished->exchange(true)) return;
    {
      MutexLock lock(mu_);
      if (--own_[alias] <= 0) own_.erase(alias);
    }
    done({response.status, std::move(response.body), rc->request_id});
  };
  rc->finish = answer;
  HttpResponse response = api->HandleInternal(request, *rc);
  // A handler that answered at once left the callback here: dropping it breaks rc -> finish -> rc.
  rc->finish = nullptr;
  // An early answer (a bad body, a refusal) is the return value; the engine's comes later.
  if (!response.later) answer(std::move(response));
}

int64_t InProcessGateway::InteractiveLoad(std::string_view model) const {
  const std::string alias = AliasOf(model);
  int64_t own = 0;
  {
    MutexLock lock(mu_);
    if (auto it = own_.find(alias); it != own_.end()) own = it->second;
  }
  return std::max<int64_t>(0, admission_.Depth(alias) - own);
}

}  // namespace modelrt::server
