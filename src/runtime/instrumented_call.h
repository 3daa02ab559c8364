// RunInstrumentedCall: what every handle call does around the model's own method — resolve the
// model (loading it if needed; the result carries the engine's generation), apply the alias's per-call timeout, retry retryable errors with
// backoff, and record calls, errors, latency and retries.
//
//   return RunInstrumentedCall<EmbeddingModel, EmbedResult>(
//       *core_, alias_, std::move(ctx),
//       [&](EmbeddingModel& m, const CallContext& c) { return m.Embed(request, c); });
//
// Thread-safety: as thread-safe as `fn`; the core is thread-safe.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/logging.h"
#include "modelrt/model.h"
#include "runtime/retry.h"
#include "runtime/runtime_core.h"

namespace modelrt::internal {

// The caller's context with its deadline moved up to now + timeout when that is sooner.
// Copies share the caller's cancel flag.
CallContext WithCallTimeout(CallContext ctx, std::chrono::milliseconds timeout);
// The alias's engine for one call. Waiting for it to load is not queueing: ctx.start_by moves
// later by that wait (the call's timeout still bounds both).
// `counted`: as RuntimeCore::Acquire's.
Result<RuntimeCore::Lease> AcquireForCall(RuntimeCore& core, const std::string& alias,
                                          CallContext& ctx, bool counted = false);

// `may_retry` (optional) vetoes a retry, e.g. once a generation has streamed text.
template <typename M, typename R>
Result<R> RunInstrumentedCall(RuntimeCore& core, const std::string& alias, CallContext ctx,
                              const std::function<Result<R>(M&, const CallContext&)>& fn,
                              const std::function<bool()>& may_retry = {}) {
  MODELRT_ASSIGN_OR_RETURN(RuntimeCore::CallSetup setup, core.PrepareCall(alias));
  const ModelSpec& spec = *setup.spec;
  ctx = WithCallTimeout(std::move(ctx), spec.timeout);
  setup.metrics->calls->Increment();
  const auto start = Clock::now();
  const int max_attempts = MaxAttempts(spec.retry);
  Backoff backoff(spec.retry);
  Status error;
  for (int attempt = 1;; ++attempt) {
    Result<R> result = [&]() -> Result<R> {
      MODELRT_ASSIGN_OR_RETURN(RuntimeCore::Lease lease, AcquireForCall(core, alias, ctx));
      M* model = dynamic_cast<M*>(&lease.model());
      if (model == nullptr) {
        return InternalError("model '" + alias + "' does not implement its task " +
                             std::string(ToString(spec.task)));
      }
      MODELRT_RETURN_IF_ERROR(ctx.Check());
      Result<R> served = fn(*model, ctx);
      if (served) served->generation = lease.generation();  // which engine answered
      return served;
    }();
    if (result) {
      setup.metrics->call_seconds->Observe(
          std::chrono::duration<double>(Clock::now() - start).count());
      RecordUsage(*setup.metrics, *result);
      return result;
    }
    error = result.error();
    if (attempt >= max_attempts || !IsRetryable(error) || CallContext::IsLateStart(error) ||
        (may_retry && !may_retry())) {
      break;
    }
    const auto delay = backoff.Next();
    if (!SleepBeforeRetry(delay, ctx)) break;  // the retry could not finish in time
    setup.metrics->retries->Increment();
    Log("runtime")->debug("{}: attempt {}/{} failed ({}); retrying after {} ms", alias, attempt,
                          max_attempts, error.ToString(), delay.count());
  }
  setup.metrics->call_seconds->Observe(std::chrono::duration<double>(Clock::now() - start).count());
  core.RecordError(spec, error);
  return error;
}

}  // namespace modelrt::internal
