// Hot reload: the records ModelRuntime keeps about engine generations and reloads, its reload
// options, and what a config re-read (RuntimeLifecycle::ApplyConfig) did.
//
//   MODELRT_ASSIGN_OR_RETURN(ReloadRecord r, runtime->Reload("chat"));   // same spec, new engine
//   ModelSpec spec = runtime->Describe("chat")->spec;
//   spec.model = "models/chat-v2.gguf";
//   MODELRT_ASSIGN_OR_RETURN(r, runtime->Reload("chat", spec));           // a new file
//   for (const ReloadRecord& record : runtime->ReloadLog()) ...           // oldest first
//   MODELRT_ASSIGN_OR_RETURN(ConfigApplySummary s, runtime->ApplyConfig(new_config));
//
// A reload loads the new engine beside the old one (room for both, waiting for it up to the load
// timeout), then swaps it in atomically: calls that hold the old engine finish on it, new calls get
// the new one, and the old engine is freed when its last call ends. A reload that fails (bad file,
// load error, timeout, no room) leaves the old engine serving and is logged as failed.
//
// Generations: each alias counts the engines it has had (ModelStatus.generation; results carry the
// generation that served them), and the runtime counts every engine installed (global).
//
// Thread-safety: value types.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "modelrt/status.h"

namespace modelrt {

enum class ReloadTrigger { kApi, kFileChange, kConfig };
std::string_view ToString(ReloadTrigger trigger);  // "api", "file_change", "config"

// One engine an alias has had: an entry of its version history.
struct VersionRecord {
  std::string alias;
  uint64_t generation = 0;         // the alias's counter
  uint64_t global_generation = 0;  // the runtime's counter
  std::string description;         // ModelInfo.description
  std::string source;              // spec.model: the file path or upstream model
  int64_t memory_bytes = 0;
  std::chrono::system_clock::time_point loaded_at;
};

// One reload attempt: an entry of the reload log.
struct ReloadRecord {
  uint64_t id = 0;  // increasing per runtime
  std::string alias;
  ReloadTrigger trigger = ReloadTrigger::kApi;
  uint64_t old_generation = 0;  // serving when the reload started (0 = none loaded)
  uint64_t new_generation = 0;  // 0 when it failed
  bool ok = false;
  std::string error;  // Status::ToString() of the failure
  std::string old_source, new_source;
  std::chrono::system_clock::time_point started_at;
  std::chrono::milliseconds duration{0};
};

struct ReloadOptions {
  size_t history_size = 32;  // version records kept per alias
  size_t log_size = 256;     // reload records kept (all aliases)
  // Watch every alias's model file with inotify and reload the alias when the file is replaced
  // (written and closed, or renamed over). Local files only; remote model names are skipped.
  bool watch_model_files = false;
  // Quiet time after the last change to a file before its reload starts (a copy in progress
  // produces many events).
  std::chrono::milliseconds watch_debounce{500};
};

// What ApplyConfig did, alias by alias.
struct ConfigApplySummary {
  std::vector<std::string> added;     // registered (their warmup policy honored)
  std::vector<std::string> removed;   // unregistered; in-flight calls finish first
  std::vector<std::string> reloaded;  // changed and loaded: a new engine swapped in
  std::vector<std::string> updated;   // changed but not loaded, or only call settings changed
  std::vector<std::string> unchanged;
  std::vector<std::pair<std::string, Status>> failed;  // alias → why (the old state stays)
  bool pool_limits_changed = false;
  std::vector<std::string> providers_added, providers_replaced, providers_removed;
  std::vector<std::string> notes;  // e.g. a provider that could not be created or removed

  bool ok() const { return failed.empty(); }
};

}  // namespace modelrt
