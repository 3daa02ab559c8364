#include "server/admission_control.h"

#include <algorithm>

namespace modelrt::server {

AdmissionControl::Ticket& AdmissionControl::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = other.owner_;
    alias_ = std::move(other.alias_);
    other.owner_ = nullptr;
  }
  return *this;
}

void AdmissionControl::Ticket::Release() {
  if (owner_) owner_->Release(alias_);
  owner_ = nullptr;
}

AdmissionControl::AdmissionControl(int capacity, MetricsRegistry& metrics)
    : capacity_(std::max(1, capacity)), metrics_(metrics) {}

Result<AdmissionControl::Ticket> AdmissionControl::Admit(const std::string& alias) {
  MutexLock lock(mu_);
  Slot& slot = slots_[alias];
  if (!slot.gauge) {
    slot.gauge = &metrics_.GetGauge("modelrt_queue_depth",
                                    "Requests admitted per model, waiting or running",
                                    {{"model", alias}});
  }
  if (slot.depth >= capacity_) {
    return ResourceExhaustedError("model '" + alias + "' has " + std::to_string(slot.depth) +
                                  " requests queued or running (the limit is " +
                                  std::to_string(capacity_) + "); retry later");
  }
  ++slot.depth;
  slot.gauge->Set(static_cast<double>(slot.depth));
  Ticket ticket;
  ticket.owner_ = this;
  ticket.alias_ = alias;
  return ticket;
}

void AdmissionControl::Release(const std::string& alias) {
  MutexLock lock(mu_);
  auto it = slots_.find(alias);
  if (it == slots_.end()) return;
  it->second.depth = std::max<int64_t>(0, it->second.depth - 1);
  it->second.gauge->Set(static_cast<double>(it->second.depth));
}

int64_t AdmissionControl::Depth(const std::string& alias) const {
  MutexLock lock(mu_);
  auto it = slots_.find(alias);
  return it == slots_.end() ? 0 : it->second.depth;
}

}  // namespace modelrt::server
