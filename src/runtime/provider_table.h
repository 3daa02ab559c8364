// ProviderTable: the runtime's providers by id — each with the config it was created from (when it
// was) and whether its one-time Warmup has run. Providers come and go at run time
// (RuntimeLifecycle::AddProvider / ReplaceProvider / RemoveProvider): lookups copy the provider out
// under a short lock and callers keep their copy: a load that started on a provider finishes on it
// even if the id is replaced meanwhile.
//
//   ProviderTable table;
//   MODELRT_RETURN_IF_ERROR(table.Add(provider, config));
//   std::shared_ptr<Provider> p = table.Find("local");   // null when unknown
//   MODELRT_RETURN_IF_ERROR(table.EnsureWarm(*p));        // Warmup once per provider object
//
// Thread-safety: thread-safe. The table's lock is a leaf: nothing is called while it is held, and
// Warmup runs under a per-provider lock only.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/thread_annotations.h"
#include "modelrt/catalog.h"
#include "modelrt/provider.h"
#include "modelrt/status.h"

namespace modelrt::internal {

class ProviderTable {
 public:
  // AlreadyExists for a taken id; InvalidArgument for a null provider.
  Status Add(std::shared_ptr<Provider> provider, std::optional<ProviderConfig> config);
  // Swaps the provider under an existing id (it warms up again before its first load). NotFound.
  Status Replace(std::shared_ptr<Provider> provider, std::optional<ProviderConfig> config);
  // NotFound.
  Status Remove(std::string_view id);

  // Null when unknown.
  std::shared_ptr<Provider> Find(std::string_view id) const;
  bool Contains(std::string_view id) const { return Find(id) != nullptr; }
  std::vector<std::string> Ids() const;
  std::vector<std::shared_ptr<Provider>> All() const;
  // The config of every provider created from one (providers added as objects have none).
  std::map<std::string, ProviderConfig> Configs() const;

  // Runs provider.Warmup() unless it already succeeded for this provider object; concurrent callers
  // wait for one Warmup. A provider no longer in the table (replaced while a load used it) is warmed
  // directly: Warmup is safe to call more than once.
  Status EnsureWarm(Provider& provider);

 private:
  struct WarmState {
    Mutex mu;  // held across Warmup: one at a time, and later loads wait for it
    bool warm GUARDED_BY(mu) = false;
  };
  struct Slot {
    std::shared_ptr<Provider> provider;
    std::optional<ProviderConfig> config;
    std::shared_ptr<WarmState> warm = std::make_shared<WarmState>();
  };

  mutable Mutex mu_;
  std::map<std::string, Slot, std::less<>> slots_ GUARDED_BY(mu_);
};

}  // namespace modelrt::internal
