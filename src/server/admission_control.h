// AdmissionControl: a bounded queue per model alias, bounded by the work it holds. Each admitted
// request holds a Ticket, and its estimated work (tokens, see work_estimate.h), until its
// response is done. A request is refused at once (429, or 503 when the wait is the reason; both
// with a Retry-After from the estimated wait) instead of queueing when its alias already holds
//   - `max_requests` requests, or
//   - `max_work` units of work (the request's own counts too; a request bigger than the whole
//     limit is admitted only into an empty queue, so it is served rather than never), or
//   - more work than the alias can finish within `max_wait` at its measured rate.
// Every admitted request also has a queue deadline (CallContext::start_by, server.max_queue_wait_ms
// after its headers were read): an engine that has not started it by then refuses it (503), so
// a wrong estimate costs a refusal, never a request that waits past its limit.
// The rate is work finished per second of busy time (time with at least one request held),
// both decayed with a 30 s time constant, so it follows the current mix and hardware, parallel
// slots included. Until kMinFinished requests have finished there is no rate and only the two
// static limits apply: the first requests of a cold process ran alone (one slot of many, a cold
// engine), and a rate from them alone is many times too low (after a restart behind a load
// balancer it refused the burst that came back with a 10 s estimate for work done in 0.4 s).
//
// Exported per model: modelrt_queue_depth (requests), modelrt_queue_work (units held) and
// modelrt_queue_estimated_wait_seconds (held work / rate: how long a new request would wait).
//
//   AdmissionControl::Admission a = admission.Admit("embed-small", work);
//   if (!a.ticket) return RefusalResponse(a);     // 429/503 + Retry-After
//   ... call the model; the ticket releases its place (and records the work done) when destroyed
//
// Thread-safety: thread-safe. Tickets may be released on any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/thread_annotations.h"
#include "modelrt/metrics.h"
#include "modelrt/status.h"
#include "server/http_message.h"

namespace modelrt::server {

class AdmissionControl {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    int max_requests = 256;      // per alias, waiting or running
    int64_t max_work = 65536;    // per alias, units (estimated tokens) waiting or running
    std::chrono::milliseconds max_wait{10000};  // 0 = no limit on the estimated wait
    std::function<Clock::time_point()> clock;   // tests; empty = steady_clock::now
  };

  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept { *this = std::move(other); }
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { Release(); }
    void Release();

   private:
    friend class AdmissionControl;
    AdmissionControl* owner_ = nullptr;
    std::string alias_;
    int64_t work_ = 0;
  };

  struct Admission {
    std::optional<Ticket> ticket;  // set when admitted
    Status refusal;                // ResourceExhausted (a limit) or Unavailable (the wait)
    int retry_after_s = 0;
  };

  // `metrics` must outlive this object.
  AdmissionControl(Options options, MetricsRegistry& metrics);
  AdmissionControl(const AdmissionControl&) = delete;
  AdmissionControl& operator=(const AdmissionControl&) = delete;

  // `start_by`: the request's queue deadline (CallContext::start_by); a request that waited
  // past it before reaching admission (the executor's queue) is refused with 503.
  Admission Admit(const std::string& alias, int64_t work = 1,
                  Clock::time_point start_by = Clock::time_point::max());
  // The 503 for a request that did not start by its queue deadline, with a Retry-After from
  // the model's estimated wait.
  HttpResponse LateStartResponse(const std::string& alias, const Status& error) const;
  int64_t Depth(const std::string& alias) const;
  int64_t Work(const std::string& alias) const;
  // Seconds the work `alias` holds now would take at its measured rate; nullopt before any rate.
  std::optional<double> EstimatedWaitSeconds(const std::string& alias) const;
  const Options& options() const { return options_; }

 private:
  struct Queue {
    int64_t depth = 0;
    int64_t work = 0;
    // Decayed sums behind the rate: work finished and seconds spent busy.
    double done_work = 0;
    double busy_seconds = 0;
    int64_t finished = 0;  // requests released since the start (not decayed)
    Clock::time_point last_update{};
    Gauge* depth_gauge = nullptr;
    Gauge* work_gauge = nullptr;
    Gauge* wait_gauge = nullptr;
  };
  void Release(const std::string& alias, int64_t work);
  // Accounts the time since the last update (busy time, decay) up to `now`.
  static void Advance(Queue& q, Clock::time_point now);
  static std::optional<double> Rate(const Queue& q);
  static void Publish(Queue& q);
  Queue& QueueFor(const std::string& alias) REQUIRES(mu_);
  Clock::time_point Now() const { return options_.clock ? options_.clock() : Clock::now(); }

  const Options options_;
  MetricsRegistry& metrics_;
  mutable Mutex mu_;
  std::map<std::string, Queue> queues_ GUARDED_BY(mu_);
};

// The 429/503 answer to a refused Admission, with its Retry-After.
HttpResponse RefusalResponse(const AdmissionControl::Admission& refused);

}  // namespace modelrt::server
