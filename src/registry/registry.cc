// The versioned registry; see modelrt/registry.h. The rules live in SnapshotEditor, the file in
// RegistryJournal and listener delivery in ChangeNotifier; this file serializes writers,
// publishes snapshots and wires the three together.
#include "modelrt/registry.h"

#include <algorithm>

#include "core/json.h"
#include "core/logging.h"
#include "core/thread_annotations.h"
#include "registry/change_notifier.h"
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
  std::unique_ptr<registry::RegistryJournal> journal GUARDED_BY(write_mu);
  Validator validator GUARDED_BY(write_mu);
  registry::ChangeNotifier notifier;
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
void Replay(const std::vector<registry::RegistryJournal::Entry>& entries, const std::string& path,
            RegistrySnapshot* snapshot) {
  SnapshotEditor editor(std::move(*snapshot));
  uint64_t applied = 0, recorded = 0, skipped = 0;
  for (const registry::RegistryJournal::Entry& entry : entries) {
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

Registry::Registry(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Registry::~Registry() = default;

Result<std::unique_ptr<Registry>> Registry::Create(const Config& base, Options options) {
  MODELRT_ASSIGN_OR_RETURN(RegistrySnapshot snapshot, BuildBase(base));
  auto base_snapshot = std::make_shared<const RegistrySnapshot>(snapshot);
  std::unique_ptr<registry::RegistryJournal> journal;
  if (!options.state_path.empty()) {
    std::vector<registry::RegistryJournal::Entry> entries;
    MODELRT_ASSIGN_OR_RETURN(journal, registry::RegistryJournal::Open(options.state_path, &entries));
    Replay(entries, options.state_path, &snapshot);
  }
  auto impl =
      std::make_unique<Impl>(std::make_shared<const RegistrySnapshot>(std::move(snapshot)));
  {
    MutexLock lock(impl->write_mu);
    impl->base = std::move(base_snapshot);
    impl->journal = std::move(journal);
  }
  return std::unique_ptr<Registry>(new Registry(std::move(impl)));
}

std::shared_ptr<const RegistrySnapshot> Registry::Current() const {
  return impl_->current.Load();
}

Result<uint64_t> Registry::Apply(RegistryChange change) {
  uint64_t version = 0;
  {
    MutexLock lock(impl_->write_mu);
    std::shared_ptr<const RegistrySnapshot> before = impl_->current.Load();
    SnapshotEditor editor(*before);
    MODELRT_RETURN_IF_ERROR(editor.Apply(&change));
    auto after = std::make_shared<RegistrySnapshot>(std::move(editor).Take());
    after->version = version = before->version + 1;
    if (impl_->validator) MODELRT_RETURN_IF_ERROR(impl_->validator(*before, *after));
    // Written before it is published: a change readers saw is never lost by a crash.
    if (impl_->journal != nullptr) {
      Json entry = registry::ChangeToJson(change);
      entry["version"] = version;
      Status status = impl_->journal->Append(entry);
      if (!status.ok()) return status.WithPrefix("registry change not saved");
    }
    impl_->current.Store(after);
    Log("registry")->info("version {}: {}", version, Describe(change));
    impl_->notifier.Enqueue(std::move(change), std::move(before), std::move(after));
  }
  impl_->notifier.Deliver();
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
  if (impl_->journal == nullptr) return OkStatus();
  std::shared_ptr<const RegistrySnapshot> current = impl_->current.Load();
  std::vector<Json> lines = JournalLines(*impl_->base, *current);
  MODELRT_RETURN_IF_ERROR(impl_->journal->Rewrite(lines));
  Log("registry")->info("{}: compacted to {} changes at version {}", impl_->journal->path(),
                        lines.size(), current->version);
  return OkStatus();
}

Result<uint64_t> Registry::Rebase(const Config& base, std::vector<std::string>* skipped) {
  MODELRT_ASSIGN_OR_RETURN(RegistrySnapshot new_base, BuildBase(base));
  auto new_base_ptr = std::make_shared<const RegistrySnapshot>(new_base);
  uint64_t version = 0;
  {
    MutexLock lock(impl_->write_mu);
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
    // file reproduces this state exactly. Written before it is published, as Apply does.
    if (impl_->journal != nullptr) {
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
