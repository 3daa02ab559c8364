// The versioned registry; see modelrt/registry.h. The rules live in SnapshotEditor, the journal
// in RegistryJournal (a file) or PgRegistryJournal (shared by replicas) and listener delivery in
// ChangeNotifier; this file serializes writers, publishes snapshots and wires them together.
#include "modelrt/registry.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "core/json.h"
#include "core/logging.h"
#include "core/postgres.h"
#include "core/postgres_url.h"
#include "core/thread_annotations.h"
#include "registry/change_notifier.h"
#include "registry/pg_registry_journal.h"
#include "registry/rcu_cell.h"
#include "registry/registry_diff.h"
#include "registry/registry_journal.h"
#include "registry/registry_json.h"
#include "registry/snapshot_editor.h"

namespace modelrt {

using registry::SnapshotEditor;

struct Registry::Impl {
  explicit Impl(std::shared_ptr<const RegistrySnapshot> current_snapshot)
      : current(std::move(current_snapshot)) {}

  // Version 1: the config alone, what Compact measures the current state against (Rebase
  // replaces it).
  std::shared_ptr<const RegistrySnapshot> base GUARDED_BY(write_mu);
  // Readers load this without locks; writers replace it under write_mu.
  registry::RcuCell<RegistrySnapshot> current;
  Mutex write_mu;
  std::unique_ptr<registry::Journal> journal GUARDED_BY(write_mu);
  Validator validator GUARDED_BY(write_mu);
  registry::ChangeNotifier notifier;

  // A shared journal: publishes the changes other replicas appended, each as a version of its
  // own (listeners see them as any change). Ones that no longer apply here, or that this
  // replica's validator refuses, are skipped with a warning.
  void ApplyTheirs(const std::vector<registry::JournalEntry>& entries) REQUIRES(write_mu);
  // ApplyTheirs of what was appended since the last pull.
  void PullShared() REQUIRES(write_mu);
  // A shared journal: waits for NOTIFYs on its own connection and pulls, until stopped.
  void Follow();
  std::unique_ptr<PgConnection> listener;  // only the follower thread uses it
  std::atomic<bool> stop_following{false};
  std::thread follower;
};

namespace {

std::string Describe(const RegistryChange& change) {
  return std::string(ToString(change.kind)) + " '" + change.key + "'";
}

Result<RegistrySnapshot> BuildBase(const Config& config) {
  SnapshotEditor editor(RegistrySnapshot{});
  std::vector<RegistryChange> changes;
  for (const ProviderConfig& provider : config.providers) {
    changes.push_back({.kind = RegistryChange::Kind::kRegisterProvider, .provider = provider});
  }
  for (const ModelSpec& binding : config.models) {
    changes.push_back({.kind = RegistryChange::Kind::kUpsertBinding, .binding = binding});
  }
  for (const ProfileSpec& profile : config.profiles) {
    changes.push_back({.kind = RegistryChange::Kind::kUpsertProfile, .profile = profile});
  }
  for (RegistryChange& change : changes) {
    // Upserts would let a duplicate replace the first silently; the config forbids duplicates.
    if (change.kind == RegistryChange::Kind::kUpsertBinding &&
        editor.state().bindings.count(change.binding.alias) != 0) {
      return InvalidArgumentError("config: duplicate model alias '" + change.binding.alias + "'");
    }
    if (change.kind == RegistryChange::Kind::kUpsertProfile &&
        editor.state().profiles.count(change.profile.name) != 0) {
      return InvalidArgumentError("config: duplicate profile '" + change.profile.name + "'");
    }
    Status status = editor.Apply(&change);
    if (!status.ok()) {
      return InvalidArgumentError((config.source.empty() ? "config" : config.source) + ": " +
                                  status.message());
    }
  }
  RegistrySnapshot base = std::move(editor).Take();
  base.version = 1;
  return base;
}

// Applies a change carried over by Rebase. A provider the new base added meanwhile is replaced
// rather than registered (and one it dropped registered rather than replaced): either way the
// run-time version wins. A removal whose target is already gone is done.
Status ApplyCarried(SnapshotEditor& editor, RegistryChange change) {
  using Kind = RegistryChange::Kind;
  Status status = editor.Apply(&change);
  if (status.ok()) return status;
  if (change.kind == Kind::kRegisterProvider && status.code() == StatusCode::kAlreadyExists) {
    change.kind = Kind::kReplaceProvider;
    return editor.Apply(&change);
  }
  if (change.kind == Kind::kReplaceProvider && status.code() == StatusCode::kNotFound) {
    change.kind = Kind::kRegisterProvider;
    return editor.Apply(&change);
  }
  const bool removal = change.kind == Kind::kRemoveBinding || change.kind == Kind::kRemoveProfile ||
                       change.kind == Kind::kRemoveProvider;
  if (removal && status.code() == StatusCode::kNotFound) return OkStatus();
  return status;
}

// Applies the journal's entries on top of `snapshot`; ones that no longer apply are skipped.
void Replay(const std::vector<registry::JournalEntry>& entries, const std::string& path,
            RegistrySnapshot* snapshot) {
  SnapshotEditor editor(std::move(*snapshot));
  uint64_t applied = 0, recorded = 0, skipped = 0;
  for (const registry::JournalEntry& entry : entries) {
    if (auto it = entry.json.find("version"); it != entry.json.end() && it->is_number_unsigned()) {
      recorded = std::max(recorded, it->get<uint64_t>());
    }
    if (!entry.json.contains("op")) continue;  // a version mark left by Compact
    Result<RegistryChange> change = registry::ChangeFromJson(entry.json);
    Status status = change.ok() ? editor.Apply(&*change) : change.error();
    if (!status.ok()) {
      ++skipped;
      Log("registry")->warn("{}:{}: skipped ({}): {}", path, entry.line,
                            change.ok() ? Describe(*change) : "unreadable", status.message());
      continue;
    }
    ++applied;
  }
  uint64_t version = snapshot->version;
  *snapshot = std::move(editor).Take();
  // Versions never go back across a restart, even when entries were skipped or compacted.
  snapshot->version = std::max(version + applied, recorded);
  Log("registry")->info("{}: replayed {} changes ({} skipped); registry at version {}", path,
                        applied, skipped, snapshot->version);
}

}  // namespace

void Registry::Impl::PullShared() {
  if (journal == nullptr || !journal->shared()) return;
  Result<std::vector<registry::JournalEntry>> entries = journal->Pull();
  if (!entries.ok()) {
    Log("registry")->warn("{}: {}", journal->name(), entries.error().message());
    return;
  }
  ApplyTheirs(*entries);
}

void Registry::Impl::ApplyTheirs(const std::vector<registry::JournalEntry>& entries) {
  // Each is checked from the state the runtime has caught up with (listeners run after the
  // lock), so a model on a provider an earlier entry registered finds that provider.
  const std::shared_ptr<const RegistrySnapshot> delivered = current.Load();
  for (const registry::JournalEntry& entry : entries) {
    if (!entry.json.contains("op")) continue;
    Result<RegistryChange> change = registry::ChangeFromJson(entry.json);
    std::shared_ptr<const RegistrySnapshot> before = current.Load();
    SnapshotEditor editor(*before);
    Status status = change.ok() ? editor.Apply(&*change) : change.error();
    std::shared_ptr<RegistrySnapshot> after;
    if (status.ok()) {
      after = std::make_shared<RegistrySnapshot>(std::move(editor).Take());
      after->version = before->version + 1;
      if (validator) status = validator(*delivered, *after);
    }
    if (!status.ok()) {
      Log("registry")->warn("{}: change {} from another replica skipped ({}): {}",
                            journal->name(), entry.line,
                            change.ok() ? Describe(*change) : "unreadable", status.message());
      continue;
    }
    current.Store(after);
    Log("registry")->info("version {}: {} (from another replica)", after->version,
                          Describe(*change));
    change->from_another_replica = true;
    notifier.Enqueue(*std::move(change), std::move(before), std::move(after));
  }
}

void Registry::Impl::Follow() {
  // A NOTIFY wakes it at once; the pull every second also covers one lost with a connection.
  constexpr auto kWait = std::chrono::milliseconds(250);
  int quiet = 0;
  while (!stop_following.load()) {
    Result<bool> notified = listener->WaitForNotify(kWait);
    if (!notified.ok()) {
      Log("registry")->warn("following {}: {}", listener->redacted_url(),
                            notified.error().message());
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    if (notified.ok() && !*notified && ++quiet < 4) continue;
    quiet = 0;
    {
      MutexLock lock(write_mu);
      PullShared();
    }
    notifier.Deliver();
  }
}

Registry::Registry(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Registry::~Registry() {
  // Before anything it uses goes: it delivers changes to listeners.
  impl_->stop_following.store(true);
  if (impl_->follower.joinable()) impl_->follower.join();
}

Result<std::unique_ptr<Registry>> Registry::Create(const Config& base, Options options) {
  MODELRT_ASSIGN_OR_RETURN(RegistrySnapshot snapshot, BuildBase(base));
  auto base_snapshot = std::make_shared<const RegistrySnapshot>(snapshot);
  MODELRT_ASSIGN_OR_RETURN(
      std::string shared_url,
      ResolveStoreUrl("registry", base.registry.store, base.registry.store_env));
  std::unique_ptr<registry::Journal> journal;
  std::unique_ptr<PgConnection> listener;
  std::vector<registry::JournalEntry> entries;
  if (!shared_url.empty()) {
    // LISTEN before reading: whatever is appended after the read wakes the follower.
    MODELRT_ASSIGN_OR_RETURN(listener, PgConnection::Connect(shared_url));
    MODELRT_RETURN_IF_ERROR(listener->Listen(registry::PgRegistryJournal::kChannel));
    MODELRT_ASSIGN_OR_RETURN(journal, registry::PgRegistryJournal::Open(shared_url, &entries));
  } else if (!options.state_path.empty()) {
    MODELRT_ASSIGN_OR_RETURN(journal, registry::RegistryJournal::Open(options.state_path, &entries));
  }
  if (journal != nullptr) Replay(entries, journal->name(), &snapshot);
  auto impl =
      std::make_unique<Impl>(std::make_shared<const RegistrySnapshot>(std::move(snapshot)));
  {
    MutexLock lock(impl->write_mu);
    impl->base = std::move(base_snapshot);
    impl->journal = std::move(journal);
  }
  if (listener != nullptr) {
    impl->listener = std::move(listener);
    impl->follower = std::thread([raw = impl.get()] { raw->Follow(); });
  }
  return std::unique_ptr<Registry>(new Registry(std::move(impl)));
}

std::shared_ptr<const RegistrySnapshot> Registry::Current() const {
  return impl_->current.Load();
}

Result<uint64_t> Registry::Apply(RegistryChange change) {
  auto apply = [&]() -> Result<uint64_t> {
    MutexLock lock(impl_->write_mu);
    registry::Journal* journal = impl_->journal.get();
    // Checked from the state listeners have seen (see ApplyTheirs).
    const std::shared_ptr<const RegistrySnapshot> delivered = impl_->current.Load();
    if (journal != nullptr) {
      // A shared journal holds other replicas' writes off from here to the append, and what
      // they wrote before is applied first: this change is checked on top of all of it.
      MODELRT_ASSIGN_OR_RETURN(std::vector<registry::JournalEntry> theirs, journal->BeginWrite());
      impl_->ApplyTheirs(theirs);
    }
    struct WriteEnd {
      registry::Journal* journal;
      ~WriteEnd() {
        if (journal != nullptr) journal->EndWrite();  // refused: the others may go on
      }
    } write_end{journal};
    std::shared_ptr<const RegistrySnapshot> before = impl_->current.Load();
    SnapshotEditor editor(*before);
    MODELRT_RETURN_IF_ERROR(editor.Apply(&change));
    auto after = std::make_shared<RegistrySnapshot>(std::move(editor).Take());
    const uint64_t version = after->version = before->version + 1;
    if (impl_->validator) MODELRT_RETURN_IF_ERROR(impl_->validator(*delivered, *after));
    // Written before it is published: a change readers saw is never lost by a crash.
    if (journal != nullptr) {
      Json entry = registry::ChangeToJson(change);
      entry["version"] = version;
      Status status = journal->Append(entry);
      if (!status.ok()) return status.WithPrefix("registry change not saved");
    }
    impl_->current.Store(after);
    Log("registry")->info("version {}: {}", version, Describe(change));
    impl_->notifier.Enqueue(std::move(change), std::move(before), std::move(after));
    return version;
  };
  Result<uint64_t> version = apply();
  impl_->notifier.Deliver();  // what was pulled, even when this change was refused
  return version;
}

Result<uint64_t> Registry::RegisterProvider(ProviderConfig provider) {
  return Apply({.kind = RegistryChange::Kind::kRegisterProvider, .provider = std::move(provider)});
}

Result<uint64_t> Registry::ReplaceProvider(ProviderConfig provider) {
  return Apply({.kind = RegistryChange::Kind::kReplaceProvider, .provider = std::move(provider)});
}

Result<uint64_t> Registry::RemoveProvider(const std::string& id, RemovalPolicy policy) {
  return Apply({.kind = RegistryChange::Kind::kRemoveProvider, .key = id, .policy = policy});
}

Result<RemovalPreview> Registry::PreviewProviderRemoval(const std::string& id) const {
  return SnapshotEditor::PreviewRemoval(*Current(), id);
}

Result<uint64_t> Registry::UpsertBinding(ModelSpec binding) {
  return Apply({.kind = RegistryChange::Kind::kUpsertBinding, .binding = std::move(binding)});
}

Result<uint64_t> Registry::RemoveBinding(const std::string& alias) {
  return Apply({.kind = RegistryChange::Kind::kRemoveBinding, .key = alias});
}

Result<uint64_t> Registry::UpsertProfile(ProfileSpec profile) {
  return Apply({.kind = RegistryChange::Kind::kUpsertProfile, .profile = std::move(profile)});
}

Result<uint64_t> Registry::RemoveProfile(const std::string& name) {
  return Apply({.kind = RegistryChange::Kind::kRemoveProfile, .key = name});
}

void Registry::SetValidator(Validator validator) {
  MutexLock lock(impl_->write_mu);
  impl_->validator = std::move(validator);
}

uint64_t Registry::Subscribe(Listener listener) {
  return impl_->notifier.Subscribe(std::move(listener));
}

void Registry::Unsubscribe(uint64_t id) { impl_->notifier.Unsubscribe(id); }

namespace {

// The journal lines that turn `base` into `current`, all marked with current's version (which
// they keep across a restart even when nothing differs from the config).
std::vector<Json> JournalLines(const RegistrySnapshot& base, const RegistrySnapshot& current) {
  std::vector<Json> lines;
  for (const RegistryChange& change : registry::ChangesBetween(base, current)) {
    lines.push_back(registry::ChangeToJson(change));
    lines.back()["version"] = current.version;
  }
  if (lines.empty() && current.version > 1) lines.push_back({{"version", current.version}});
  return lines;
}

}  // namespace

Status Registry::Compact() {
  MutexLock lock(impl_->write_mu);
  // Other replicas replay a shared journal from its start: it is kept whole.
  if (impl_->journal == nullptr || impl_->journal->shared()) return OkStatus();
  std::shared_ptr<const RegistrySnapshot> current = impl_->current.Load();
  std::vector<Json> lines = JournalLines(*impl_->base, *current);
  MODELRT_RETURN_IF_ERROR(impl_->journal->Rewrite(lines));
  Log("registry")->info("{}: compacted to {} changes at version {}", impl_->journal->name(),
                        lines.size(), current->version);
  return OkStatus();
}

Result<uint64_t> Registry::Rebase(const Config& base, std::vector<std::string>* skipped) {
  MODELRT_ASSIGN_OR_RETURN(RegistrySnapshot new_base, BuildBase(base));
  auto new_base_ptr = std::make_shared<const RegistrySnapshot>(new_base);
  uint64_t version = 0;
  {
    MutexLock lock(impl_->write_mu);
    impl_->PullShared();  // the run-time changes carried over include the other replicas' latest
    std::shared_ptr<const RegistrySnapshot> before = impl_->current.Load();
    SnapshotEditor editor(std::move(new_base));
    size_t carried = 0;
    for (RegistryChange& change : registry::ChangesBetween(*impl_->base, *before)) {
      Status status = ApplyCarried(editor, change);
      if (status.ok()) {
        ++carried;
        continue;
      }
      std::string what = Describe(change) + ": " + status.message();
      Log("registry")->warn("rebase on {}: run-time change dropped: {}", base.source, what);
      if (skipped != nullptr) skipped->push_back(std::move(what));
    }
    auto after = std::make_shared<RegistrySnapshot>(std::move(editor).Take());
    after->version = version = before->version + 1;
    if (impl_->validator) MODELRT_RETURN_IF_ERROR(impl_->validator(*before, *after));
    // The journal now holds the carried changes against the new base, so a restart on the new
    // file reproduces this state exactly. Written before it is published, as Apply does. A
    // shared journal stays as it is: its changes replay on whatever base each replica has.
    if (impl_->journal != nullptr && !impl_->journal->shared()) {
      Status status = impl_->journal->Rewrite(JournalLines(*new_base_ptr, *after));
      if (!status.ok()) return status.WithPrefix("registry rebase not saved");
    }
    impl_->base = std::move(new_base_ptr);
    impl_->current.Store(after);
    Log("registry")->info("version {}: rebased on {} ({} run-time change(s) carried over)",
                          version, base.source, carried);
    RegistryChange change{.kind = RegistryChange::Kind::kRebase, .key = base.source};
    impl_->notifier.Enqueue(std::move(change), std::move(before), std::move(after));
  }
  impl_->notifier.Deliver();
  return version;
}

}  // namespace modelrt
