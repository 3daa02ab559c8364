// Differences between snapshots: the public DiffSnapshots (what listeners resync) and
// ChangesBetween, the shortest list of changes that turns one snapshot into another (what a
// compacted journal holds).
//
//   for (const RegistryChange& change : ChangesBetween(base, *registry->Current())) ...
//
// Thread-safety: free functions over values; safe from any thread.
#pragma once

#include <vector>

#include "modelrt/registry.h"

namespace modelrt::registry {

// Changes that, applied in order to `from`, give `to` (content only; versions untouched):
// provider registrations and replacements; removals of changed and dropped profiles; binding
// removals and upserts; profile upserts; provider removals. Each step keeps every reference
// resolvable.
std::vector<RegistryChange> ChangesBetween(const RegistrySnapshot& from,
                                           const RegistrySnapshot& to);

}  // namespace modelrt::registry
