// The registry's rules: applies one change at a time to a private copy of a snapshot and keeps
// every reference resolvable (bindings name existing providers, profiles existing generate
// bindings, aliases and profile names never collide). Registry uses it for run-time changes,
// for building version 1 from the config and for replaying the journal.
//
//   SnapshotEditor editor(*registry_current);        // a copy
//   MODELRT_RETURN_IF_ERROR(editor.Apply(&change));  // state unchanged on error
//   RegistrySnapshot next = std::move(editor).Take();
//
// Thread-safety: not thread-safe; one editor per writer.
#pragma once

#include <string>

#include "modelrt/registry.h"
#include "modelrt/status.h"

namespace modelrt::registry {

class SnapshotEditor {
 public:
  explicit SnapshotEditor(RegistrySnapshot start) : state_(std::move(start)) {}

  // Applies `change` or returns why not, leaving the state as it was. Fills in
  // change->removed_bindings for a cascading provider removal. Does not touch the version.
  Status Apply(RegistryChange* change);

  const RegistrySnapshot& state() const { return state_; }
  RegistrySnapshot Take() && { return std::move(state_); }

  // What removing provider `id` from `snapshot` would affect. NotFound when it is not there.
  static Result<RemovalPreview> PreviewRemoval(const RegistrySnapshot& snapshot,
                                               const std::string& id);

 private:
  Status RegisterProvider(const ProviderConfig& provider);
  Status ReplaceProvider(const ProviderConfig& provider);
  Status RemoveProvider(const std::string& id, RemovalPolicy policy,
                        std::vector<std::string>* removed_bindings);
  Status UpsertBinding(const ModelSpec& binding);
  Status RemoveBinding(const std::string& alias);
  Status UpsertProfile(const ProfileSpec& profile);
  Status RemoveProfile(const std::string& name);

  RegistrySnapshot state_;
};

}  // namespace modelrt::registry
