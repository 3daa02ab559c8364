// The versioned registry: providers, model bindings (alias → provider + upstream model +
// options) and profiles (name → binding + system prompt + default parameters), held in
// immutable, numbered snapshots.
//
//   MODELRT_ASSIGN_OR_RETURN(auto registry,
//                            Registry::Create(config, {.state_path = data_dir + "/registry.jsonl"}));
//   MODELRT_ASSIGN_OR_RETURN(uint64_t version, registry->RegisterProvider(openai));
//   std::shared_ptr<const RegistrySnapshot> snap = registry->Current();  // never blocks
//   MODELRT_ASSIGN_OR_RETURN(RemovalPreview preview, registry->PreviewProviderRemoval("openai"));
//   MODELRT_RETURN_IF_ERROR(registry->RemoveProvider("openai", RemovalPolicy::kCascade).status());
//
// Copy-on-write: readers load the current snapshot without locks or waiting and keep it as
// long as they like; it never changes. A writer copies the current snapshot, applies one change,
// checks every reference (no binding names a missing provider, no profile a missing binding),
// appends the change to the journal and publishes the copy as version + 1. Writers serialize,
// so concurrent updates are never lost; a failed change publishes nothing and keeps the version.
//
// Persistence: with a state_path, every run-time change is appended as one JSON line (fsync'd)
// before it is published. Create builds version 1 from the config, then replays the journal on
// top; an entry that no longer applies (the config changed under it) is skipped with a warning.
// A torn last line (a crash mid-append) is ignored and cut off. Secrets never reach the journal:
// providers carry only the *name* of the variable holding a key, and inline secret-looking
// option keys (api_key, token, password...) are rejected.
//
// Thread-safety: Registry is thread-safe. Snapshots are immutable and may be shared freely.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "modelrt/catalog.h"
#include "modelrt/status.h"

namespace modelrt {

// One published state. Immutable once published.
struct RegistrySnapshot {
  uint64_t version = 0;
  std::map<std::string, ProviderConfig> providers;  // by id
  std::map<std::string, ModelSpec> bindings;        // by alias
  std::map<std::string, ProfileSpec> profiles;      // by name
};

// What RemoveProvider does with the bindings that use the provider.
enum class RemovalPolicy {
  kBlock,    // refuse while any binding uses the provider (the error lists them)
  kCascade,  // remove those bindings too, unless a profile uses one of them
};
std::string_view ToString(RemovalPolicy policy);
// "block" | "cascade"; InvalidArgument otherwise.
Result<RemovalPolicy> ParseRemovalPolicy(std::string_view text);

// What removing a provider would affect, and which policies would allow it.
struct RemovalPreview {
  std::string provider;
  uint64_t version = 0;               // the snapshot the preview was computed on
  std::vector<std::string> bindings;  // aliases bound to the provider, sorted
  std::vector<std::string> profiles;  // profiles using those bindings, sorted
  bool allowed_block = false;         // no binding uses the provider
  bool allowed_cascade = false;       // no profile uses those bindings
  std::string block_reason;           // why kBlock refuses; empty when allowed
  std::string cascade_reason;         // why kCascade refuses; empty when allowed
};

// One change, as requested and as applied. It is what listeners receive and what the journal
// stores. Only the fields of its kind are meaningful.
struct RegistryChange {
  enum class Kind {
    kRegisterProvider,
    kReplaceProvider,
    kRemoveProvider,
    kUpsertBinding,
    kRemoveBinding,
    kUpsertProfile,
    kRemoveProfile,
    // Registry::Rebase: a new config under the run-time changes. Compare `before` and `after`
    // (DiffSnapshots) for what changed. Never journaled, never accepted by Apply.
    kRebase,
  };
  Kind kind = Kind::kRegisterProvider;
  std::string key;          // provider id, binding alias or profile name
  ProviderConfig provider;  // kRegisterProvider, kReplaceProvider
  ModelSpec binding;        // kUpsertBinding
  ProfileSpec profile;      // kUpsertProfile
  RemovalPolicy policy = RemovalPolicy::kBlock;  // kRemoveProvider
  // kRemoveProvider with kCascade: the bindings removed with the provider (set when applied).
  std::vector<std::string> removed_bindings;
  // Another replica made it (read from the shared journal): whoever serves this registry must
  // catch up with it, as nobody here asked for it. Never journaled.
  bool from_another_replica = false;
};
// "register_provider", "replace_provider", "remove_provider", "upsert_binding", ...
std::string_view ToString(RegistryChange::Kind kind);

// Keys that differ between two snapshots, each list sorted. A binding counts as changed when
// its spec changed or when the provider it uses was replaced: either way its engines are stale.
struct RegistryDiff {
  std::vector<std::string> providers_added, providers_changed, providers_removed;
  std::vector<std::string> bindings_added, bindings_changed, bindings_removed;
  std::vector<std::string> profiles_added, profiles_changed, profiles_removed;
  bool empty() const;
};
RegistryDiff DiffSnapshots(const RegistrySnapshot& before, const RegistrySnapshot& after);

class Registry {
 public:
  struct Options {
    // Journal of run-time changes, e.g. <data_dir>/registry.jsonl (parent folders are created).
    // "" = changes live in memory only.
    std::string state_path;
  };

  // Called after each publish, outside the writers' lock, once per change and in version order
  // (never two at once). `after.version == before.version + 1`. A listener may read the
  // registry; a change it makes itself is delivered after the listener returns.
  using Listener = std::function<void(const RegistryChange& change, const RegistrySnapshot& before,
                                      const RegistrySnapshot& after)>;

  // Builds version 1 from `base` (InvalidArgument when its references do not resolve), then
  // replays the journal: the shared one of base.registry (PostgreSQL; the registry then follows
  // what other replicas append, and options.state_path is not used), else the file at
  // options.state_path, if any. Errors: the journal cannot be opened, reached or locked
  // (another process uses the file: Unavailable).
  static Result<std::unique_ptr<Registry>> Create(const Config& base, Options options);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The current snapshot. Lock-free for readers; never null.
  std::shared_ptr<const RegistrySnapshot> Current() const;
  uint64_t version() const { return Current()->version; }

  // Each update returns the version it published. Failed updates publish nothing.
  // InvalidArgument (bad fields), AlreadyExists (id taken).
  Result<uint64_t> RegisterProvider(ProviderConfig provider);
  // NotFound. Bindings keep pointing at the provider and count as changed for listeners.
  Result<uint64_t> ReplaceProvider(ProviderConfig provider);
  // NotFound; FailedPrecondition when `policy` refuses (the message lists the referrers).
  Result<uint64_t> RemoveProvider(const std::string& id, RemovalPolicy policy);
  // NotFound.
  Result<RemovalPreview> PreviewProviderRemoval(const std::string& id) const;

  // Adds or replaces a binding. InvalidArgument: bad fields or an unknown provider (dangling);
  // AlreadyExists: the alias is a profile name; FailedPrecondition: a profile uses the binding
  // and the new task is not generate.
  Result<uint64_t> UpsertBinding(ModelSpec binding);
  // NotFound; FailedPrecondition when a profile uses it (the message lists them).
  Result<uint64_t> RemoveBinding(const std::string& alias);

  // Adds or replaces a profile. InvalidArgument: bad fields, an unknown binding (dangling) or
  // one that is not a generate model; AlreadyExists: the name is a binding alias.
  Result<uint64_t> UpsertProfile(ProfileSpec profile);
  // NotFound.
  Result<uint64_t> RemoveProfile(const std::string& name);

  // Applies any change (the typed methods above call this).
  Result<uint64_t> Apply(RegistryChange change);

  // Checks a change in full before it is published (Apply and Rebase): `before` is the current
  // snapshot, `after` the candidate. A refusal publishes and journals nothing and is the write's
  // error. A server sets RuntimeLifecycle::ValidateChange here, so nothing the runtime
  // cannot serve is ever published and nothing has to be rolled back. Runs under the writers'
  // lock: it must not write to the registry.
  using Validator =
      std::function<Status(const RegistrySnapshot& before, const RegistrySnapshot& after)>;
  void SetValidator(Validator validator);
  // Listeners: the returned id unsubscribes. After Unsubscribe returns, the listener is not
  // called again (unless Unsubscribe is called from a listener, which is allowed).
  uint64_t Subscribe(Listener listener);
  void Unsubscribe(uint64_t id);

  // Rewrites the journal as the shortest list of changes that turns the config into the current
  // state (atomically: temp file, fsync, rename). No-op without a state_path.
  Status Compact();

  // A re-read config (SIGHUP): builds a new version 1 from `base`, carries the run-time changes
  // over (the shortest list that turns the old base into the current state, replayed on the new
  // base: a run-time change wins over the file), publishes the result as version + 1 and rewrites
  // the journal against the new base. A carried change that no longer applies (its provider left
  // the file) is dropped with a warning and listed in `skipped`, if given. Listeners get one
  // kRebase change. InvalidArgument when `base` itself does not resolve (nothing changes).
  Result<uint64_t> Rebase(const Config& base, std::vector<std::string>* skipped = nullptr);

 private:
  struct Impl;
  explicit Registry(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace modelrt
