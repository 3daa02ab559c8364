// AdmissionControl: a bounded queue per model alias. Each admitted request holds a Ticket until
// its response is done; when an alias already has `capacity` requests waiting or running, the
// next one is refused at once with ResourceExhausted (a 429 with Retry-After) instead of
// queueing without bound. The depth is exported as the modelrt_queue_depth{model} gauge.
//
//   MODELRT_ASSIGN_OR_RETURN(AdmissionControl::Ticket ticket, admission.Admit("embed-small"));
//   ... call the model; the ticket releases its place when destroyed ...
//
// Thread-safety: thread-safe. Tickets may be released on any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/thread_annotations.h"
#include "modelrt/metrics.h"
#include "modelrt/status.h"

namespace modelrt::server {

class AdmissionControl {
 public:
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
  };

  // `capacity` requests per alias (at least 1); `metrics` must outlive this object.
  AdmissionControl(int capacity, MetricsRegistry& metrics);
  AdmissionControl(const AdmissionControl&) = delete;
  AdmissionControl& operator=(const AdmissionControl&) = delete;

  Result<Ticket> Admit(const std::string& alias);
  int64_t Depth(const std::string& alias) const;
  int capacity() const { return capacity_; }

 private:
  struct Slot {
    int64_t depth = 0;
    Gauge* gauge = nullptr;
  };
  void Release(const std::string& alias);

  const int capacity_;
  MetricsRegistry& metrics_;
  mutable Mutex mu_;
  std::map<std::string, Slot> slots_ GUARDED_BY(mu_);
};

}  // namespace modelrt::server
