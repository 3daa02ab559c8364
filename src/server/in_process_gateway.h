// InProcessGateway: jobs' requests (model-inference, batches) through the server's own
// ApiService — the same parsing, admission, engines and dynamic batching as HTTP requests, with
// no socket and no key check. It counts its own calls per alias, so batches can tell
// interactive load (the admission queue's depth less their own) from theirs.
//
//   InProcessGateway gateway(admission, resolver);
//   ... ApiService api(...);
//   gateway.Attach(&api);                  // before the job runner starts
//
// Thread-safety: thread-safe after Attach.
#pragma once

#include <atomic>
#include <map>
#include <string>

#include "core/thread_annotations.h"
#include "jobs/inference_gateway.h"
#include "modelrt/model_names.h"
#include "server/admission_control.h"
#include "server/api_service.h"

namespace modelrt::server {

class InProcessGateway : public jobs::InferenceGateway {
 public:
  InProcessGateway(const AdmissionControl& admission, const ModelNames& resolver)
      : admission_(admission), resolver_(resolver) {}

  void Attach(const ApiService* api) { api_.store(api); }

  void Call(std::string endpoint, std::string model, std::string body, CallContext ctx,
            std::function<void(jobs::InferenceReply)> done) override;
  int64_t InteractiveLoad(std::string_view model) const override;

 private:
  std::string AliasOf(std::string_view model) const;

  const AdmissionControl& admission_;
  const ModelNames& resolver_;
  std::atomic<const ApiService*> api_{nullptr};
  mutable Mutex mu_;
  std::map<std::string, int64_t, std::less<>> own_ GUARDED_BY(mu_);  // calls in flight per alias
};

}  // namespace modelrt::server
