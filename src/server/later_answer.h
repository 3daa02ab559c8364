// LaterAnswer: how a handler that answers later (RouteOptions::answers_later) hands its answer
// over. It takes RequestContext::finish at once, so every early answer (a bad body, a refusal) is
// simply the handler's return value and only the engine's callback uses `finish`. Outside an
// HTTP session (no finish: a handler called directly) the handler waits for that answer instead.
//
//   LaterAnswer later(ctx);
//   if (!body) return ErrorResponse(body.error());
//   handle.EmbedAsync(request, ctx.call, [finish = later.TakeFinish()](Result<EmbedResult> r) {
//     finish(Format(r));          // on the engine's thread
//   });
//   return later.Pending();       // HttpResponse::Later(), or the answer once it came
//
// Thread-safety: one handler call; the finish it hands out may run on any thread, once.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <utility>

#include "server/http_message.h"
#include "server/request_context.h"

namespace modelrt::server {

class LaterAnswer {
 public:
  explicit LaterAnswer(RequestContext& ctx) : finish_(std::move(ctx.finish)) {
    if (finish_) return;
    waiter_ = std::make_shared<std::promise<HttpResponse>>();
    finish_ = [waiter = waiter_](HttpResponse response) { waiter->set_value(std::move(response)); };
  }

  // Called once, when the request is about to be handed to the engine.
  std::function<void(HttpResponse)> TakeFinish() { return std::move(finish_); }

  // The handler's return value once the engine has the request.
  HttpResponse Pending() { return waiter_ ? waiter_->get_future().get() : HttpResponse::Later(); }

 private:
  std::function<void(HttpResponse)> finish_;
  std::shared_ptr<std::promise<HttpResponse>> waiter_;  // only without a session
};

}  // namespace modelrt::server
