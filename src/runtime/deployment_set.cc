#include "runtime/deployment_set.h"

#include <algorithm>
#include <atomic>
#include <functional>

#include "core/logging.h"
#include "core/thread_annotations.h"

namespace modelrt::internal {
namespace {

// Another deployment may not meet what this one met: retryable failures, and a refused key (each
// deployment has its own). Never once the caller's time is spent or it left.
bool MayTryNext(const Status& status, const CallContext& ctx) {
  return (IsRetryable(status) || status.code() == StatusCode::kUpstreamAuthFailed) &&
         !ctx.cancelled() && !ctx.expired();
}

// Picks the order in which one call tries the parts, and counts the calls in flight on each.
class Router : public std::enable_shared_from_this<Router> {
 public:
  explicit Router(std::vector<DeploymentPart> parts) : parts_(std::move(parts)) {
    counts_.resize(parts_.size());
  }

  size_t size() const { return parts_.size(); }
  const DeploymentPart& part(size_t i) const { return parts_[i]; }
  template <typename M>
  M& model(size_t i) const {
    return static_cast<M&>(*parts_[i].model);
  }

  // The parts best first: healthy ones, then the fewest in flight for the weight, then the fewest
  // started for the weight (so that calls one at a time still split by weight), then the
  // heavier. The first is counted in flight before another call picks: a burst spreads.
  std::vector<size_t> Pick() {
    std::vector<bool> healthy;  // asked outside the lock: a model's Health takes its own
    for (const DeploymentPart& p : parts_) healthy.push_back(p.model->Health().ok());
    std::vector<size_t> order(parts_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    MutexLock lock(mu_);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) REQUIRES(mu_) {
      if (healthy[a] != healthy[b]) return static_cast<bool>(healthy[a]);
      const int64_t wa = parts_[a].weight, wb = parts_[b].weight;
      // x / wa < y / wb, without division.
      const int64_t fa = counts_[a].in_flight * wb, fb = counts_[b].in_flight * wa;
      if (fa != fb) return fa < fb;
      const int64_t sa = counts_[a].started * wb, sb = counts_[b].started * wa;
      if (sa != sb) return sa < sb;
      return wa > wb;
    });
    Count(order[0]);
    return order;
  }

  // Ends the count Pick (or Count) began, when the returned token is dropped.
  std::shared_ptr<void> Busy(size_t i) {
    return std::shared_ptr<void>(nullptr, [self = shared_from_this(), i](void*) {
      MutexLock lock(self->mu_);
      --self->counts_[i].in_flight;
    });
  }
  // A call moved on to part `i`.
  std::shared_ptr<void> Next(size_t i) {
    {
      MutexLock lock(mu_);
      Count(i);
    }
    return Busy(i);
  }

 private:
  struct Counts {
    int64_t in_flight = 0;
    int64_t started = 0;
  };
  void Count(size_t i) REQUIRES(mu_) {
    ++counts_[i].in_flight;
    ++counts_[i].started;
  }

  const std::vector<DeploymentPart> parts_;
  Mutex mu_;
  std::vector<Counts> counts_ GUARDED_BY(mu_);
};

void LogMove(const Router& router, size_t from, const Status& why, size_t to) {
  Log("runtime")->warn("deployment {} failed ({}); trying {}", router.part(from).name,
                       why.ToString(), router.part(to).name);
}

// Tries the parts in `order` from `at` on, each after the one before failed in a way the next
// may not meet. `start` begins the call on one part; `may` says whether moving on is still
// allowed (a stream that sent nothing yet). The router lives as long as any call does.
template <typename M, typename R>
void TryFrom(std::shared_ptr<Router> router, std::shared_ptr<const std::vector<size_t>> order,
             size_t at, CallContext ctx,
             std::shared_ptr<
                 const std::function<void(M&, const CallContext&, std::function<void(Result<R>)>)>>
                 start,
             std::shared_ptr<const std::function<bool()>> may,
             std::function<void(Result<R>)> done) {
  const size_t i = (*order)[at];
  std::shared_ptr<void> busy = at == 0 ? router->Busy(i) : router->Next(i);
  (*start)(router->template model<M>(i), ctx,
           [router, order, at, ctx, start, may, done = std::move(done),
            busy = std::move(busy)](Result<R> result) mutable {
             busy.reset();
             const bool last = at + 1 == order->size();
             if (result || last || !MayTryNext(result.error(), ctx) || !(*may)()) {
               return done(std::move(result));
             }
             LogMove(*router, (*order)[at], result.error(), (*order)[at + 1]);
             TryFrom<M, R>(std::move(router), std::move(order), at + 1, std::move(ctx),
                           std::move(start), std::move(may), std::move(done));
           });
}

// The blocking form of the same.
template <typename M, typename R>
Result<R> TryInOrder(
    Router& router, const CallContext& ctx, const std::function<Result<R>(M&)>& call,
    const std::function<bool()>& may = [] { return true; }) {
  const std::vector<size_t> order = router.Pick();
  for (size_t at = 0;; ++at) {
    Result<R> result = [&] {
      std::shared_ptr<void> busy = at == 0 ? router.Busy(order[at]) : router.Next(order[at]);
      return call(router.template model<M>(order[at]));
    }();
    if (result || at + 1 == order.size() || !MayTryNext(result.error(), ctx) || !may()) {
      return result;
    }
    LogMove(router, order[at], result.error(), order[at + 1]);
  }
}

// What every task's set shares: the router, and the Model methods.
template <typename Base>
class SetBase : public Base {
 public:
  explicit SetBase(std::vector<DeploymentPart> parts)
      : router_(std::make_shared<Router>(std::move(parts))) {}

  ModelInfo Info() const override {
    ModelInfo info = router_->part(0).model->Info();
    info.memory_bytes = 0;
    info.parallel = 0;
    std::string names;
    for (size_t i = 0; i < router_->size(); ++i) {
      const ModelInfo part = router_->part(i).model->Info();
      info.memory_bytes += part.memory_bytes;
      info.parallel += part.parallel;
      names += (i ? ", " : "") + router_->part(i).name;
    }
    info.description = "deployments " + names;
    return info;
  }
  Status Warmup() override {
    for (size_t i = 0; i < router_->size(); ++i) {
      MODELRT_RETURN_IF_ERROR(
          router_->part(i).model->Warmup().WithPrefix("deployment " + router_->part(i).name));
    }
    return OkStatus();
  }
  // Serving while any deployment is.
  Status Health() const override {
    Status first;
    for (size_t i = 0; i < router_->size(); ++i) {
      Status status = router_->part(i).model->Health();
      if (status.ok()) return status;
      if (first.ok()) first = status.WithPrefix("deployment " + router_->part(i).name);
    }
    return first;
  }

 protected:
  std::shared_ptr<Router> router_;
};

class EmbeddingSet : public SetBase<EmbeddingModel> {
 public:
  using SetBase::SetBase;
  Result<EmbedResult> Embed(const EmbedRequest& request, const CallContext& ctx) override {
    return TryInOrder<EmbeddingModel, EmbedResult>(
        *router_, ctx, [&](EmbeddingModel& m) { return m.Embed(request, ctx); });
  }
  void EmbedAsync(const EmbedRequest& request, const CallContext& ctx, EmbedDone done) override {
    // A later try runs after this returns: it needs its own copy of the request.
    auto copy = std::make_shared<const EmbedRequest>(request);
    using Start = std::function<void(EmbeddingModel&, const CallContext&, EmbedDone)>;
    TryFrom<EmbeddingModel, EmbedResult>(
        router_, std::make_shared<const std::vector<size_t>>(router_->Pick()), 0, ctx,
        std::make_shared<const Start>([copy](EmbeddingModel& m, const CallContext& c, EmbedDone d) {
          m.EmbedAsync(*copy, c, std::move(d));
        }),
        std::make_shared<const std::function<bool()>>([] { return true; }), std::move(done));
  }
};

class RerankSet : public SetBase<RerankerModel> {
 public:
  using SetBase::SetBase;
  Result<RerankResult> Rerank(const RerankRequest& request, const CallContext& ctx) override {
    return TryInOrder<RerankerModel, RerankResult>(
        *router_, ctx, [&](RerankerModel& m) { return m.Rerank(request, ctx); });
  }
  void RerankAsync(const RerankRequest& request, const CallContext& ctx, RerankDone done) override {
    auto copy = std::make_shared<const RerankRequest>(request);
    using Start = std::function<void(RerankerModel&, const CallContext&, RerankDone)>;
    TryFrom<RerankerModel, RerankResult>(
        router_, std::make_shared<const std::vector<size_t>>(router_->Pick()), 0, ctx,
        std::make_shared<const Start>([copy](RerankerModel& m, const CallContext& c, RerankDone d) {
          m.RerankAsync(*copy, c, std::move(d));
        }),
        std::make_shared<const std::function<bool()>>([] { return true; }), std::move(done));
  }
};

class GeneratorSet : public SetBase<GeneratorModel> {
 public:
  using SetBase::SetBase;
  Result<GenerateResult> Generate(const GenerateRequest& request, const TokenCallback& on_piece,
                                  const CallContext& ctx) override {
    bool sent = false;  // a stream moves on only before its first piece
    TokenCallback counted;
    if (on_piece) {
      counted = [&](std::string_view piece) {
        sent = true;
        return on_piece(piece);
      };
    }
    return TryInOrder<GeneratorModel, GenerateResult>(
        *router_, ctx, [&](GeneratorModel& m) { return m.Generate(request, counted, ctx); },
        [&sent] { return !sent; });
  }
  void GenerateAsync(const GenerateRequest& request, TokenCallback on_piece, const CallContext& ctx,
                     GenerateDone done) override {
    auto copy = std::make_shared<const GenerateRequest>(request);
    auto sent = std::make_shared<std::atomic<bool>>(false);
    TokenCallback counted;
    if (on_piece) {
      counted = [sent, on_piece = std::move(on_piece)](std::string_view piece) {
        sent->store(true, std::memory_order_relaxed);
        return on_piece(piece);
      };
    }
    using Start = std::function<void(GeneratorModel&, const CallContext&, GenerateDone)>;
    TryFrom<GeneratorModel, GenerateResult>(
        router_, std::make_shared<const std::vector<size_t>>(router_->Pick()), 0, ctx,
        std::make_shared<const Start>(
            [copy, counted](GeneratorModel& m, const CallContext& c, GenerateDone d) {
              m.GenerateAsync(*copy, counted, c, std::move(d));
            }),
        std::make_shared<const std::function<bool()>>(
            [sent] { return !sent->load(std::memory_order_relaxed); }),
        std::move(done));
  }
};

}  // namespace

ModelSpec DeploymentSpec(const ModelSpec& spec, const Deployment& deployment) {
  ModelSpec one = spec;
  one.provider = deployment.provider;
  one.model = deployment.model;
  one.deployments.clear();
  return one;
}

Status ValidateDeployments(
    const ModelSpec& spec,
    const std::function<std::shared_ptr<Provider>(const std::string&)>& find) {
  const std::string origin = spec.origin.empty() ? "model '" + spec.alias + "'" : spec.origin;
  for (size_t i = 1; i < spec.deployments.size(); ++i) {  // the first is the spec's own
    const Deployment& d = spec.deployments[i];
    const std::string where = origin + ": deployments[" + std::to_string(i) + "]";
    std::shared_ptr<Provider> provider = find(d.provider);
    if (provider == nullptr)
      return NotFoundError(where + ": unknown provider '" + d.provider + "'");
    Status valid = provider->Validate(DeploymentSpec(spec, d));
    if (!valid.ok()) return valid.WithPrefix(where);
  }
  return OkStatus();
}

std::shared_ptr<Model> MakeDeploymentSet(Task task, std::vector<DeploymentPart> parts) {
  switch (task) {
    case Task::kEmbed:
      return std::make_shared<EmbeddingSet>(std::move(parts));
    case Task::kRerank:
      return std::make_shared<RerankSet>(std::move(parts));
    case Task::kGenerate:
      return std::make_shared<GeneratorSet>(std::move(parts));
  }
  return nullptr;
}

}  // namespace modelrt::internal
