// The values the job runner keeps and shows: a job's state, its plan, its progress, its events
// and its artifacts, with their JSON forms (the admin API's and the store's).
//
//   queued ──> running ──> succeeded
//     │          │ ├─────> failed       (an error, or a restart while it ran, for kinds that
//     │          │ │                     cannot resume)
//     └──────────┴─┴─────> cancelled    (cancel asked; a running job stops within a second)
//   running ──> queued                   (a restart, for kinds that resume: downloads, batches)
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace modelrt::jobs {

using Json = nlohmann::json;

enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };

std::string_view ToString(JobState state);
std::optional<JobState> ParseJobState(std::string_view name);
inline bool IsFinished(JobState s) {
  return s == JobState::kSucceeded || s == JobState::kFailed || s == JobState::kCancelled;
}

// The seven kinds' stable names.
inline constexpr std::string_view kModelDownload = "model-download";
inline constexpr std::string_view kMaterializeBundle = "model-materialize-bundle";
inline constexpr std::string_view kValidateBundle = "model-validate-bundle";
inline constexpr std::string_view kModelWarmup = "model-warmup";
inline constexpr std::string_view kModelInference = "model-inference";
inline constexpr std::string_view kBatchInference = "model-batch-inference";
inline constexpr std::string_view kExternalCommand = "model-external-command";

// What a job will do, known before it runs and without side effects (dry_run shows it).
struct JobPlan {
  struct ExpectedArtifact {
    std::string kind;        // "bundle", "output", "log", ...
    std::string media_type;  // "application/json", "application/jsonl", "text/plain"
    std::string description;
  };
  std::string kind;
  std::string execution_mode = "worker";  // on the runner's bounded worker pool
  // Of "network", "reads_files", "writes_files", "external_process", "loads_model".
  std::vector<std::string> side_effects;
  std::string progress_unit;  // "bytes", "files", "inputs", "steps"
  std::vector<ExpectedArtifact> artifacts;
  // What must be there for it to run: "network: <endpoint>", "program: /bin/x", "model: alias".
  std::vector<std::string> requirements;
  bool cancellable = true;
  // After a restart it continues where it was (else it is marked failed).
  bool resumable = false;
  std::vector<std::string> steps;  // what it will do, in order, for people
  Json detail = Json::object();    // kind-specific: the files to fetch, the lines to run, ...
};

struct JobProgress {
  int64_t done = 0;
  int64_t total = -1;  // -1 = not known yet
  std::string unit;
  std::string message;
};

struct Artifact {
  std::string id;          // unique within the job
  std::string kind;
  std::string media_type;
  std::string path;        // absolute
  std::string sha256;
  int64_t bytes = 0;
  // model.name, model.task, model.source, model.runtime, model.revision where they apply.
  Json metadata = Json::object();
};

struct JobEvent {
  int64_t seq = 0;      // 1, 2, ... per job
  int64_t time_ms = 0;  // Unix time
  std::string type;     // "state", "progress", "log"
  Json data = Json::object();
};

struct JobRecord {
  std::string id;
  std::string kind;
  JobState state = JobState::kQueued;
  Json params = Json::object();
  Json metadata = Json::object();  // the caller's, kept as given
  JobPlan plan;
  int64_t created_ms = 0;
  int64_t started_ms = 0;   // 0 = not yet
  int64_t finished_ms = 0;  // 0 = not yet
  JobProgress progress;
  Json output = Json::object();
  std::string error;                     // why it failed or was cancelled
  std::vector<std::string> diagnostics;  // notes on the way (retries, a resume, ...)
  std::vector<Artifact> artifacts;
  Json checkpoint;           // where a resumable kind is (null = from the start)
  int attempts = 0;          // runs started (a resume after a restart is a second)
  bool cancel_requested = false;
  // With a shared store: the runner that took it last ("host:pid:tag"), for people.
  std::string runner;
};

Json ToJson(const JobPlan& plan);
Json ToJson(const JobProgress& progress);
Json ToJson(const Artifact& artifact);
Json ToJson(const JobEvent& event);
Json ToJson(const JobRecord& job);

JobPlan PlanFromJson(const Json& json);
Artifact ArtifactFromJson(const Json& json);
JobEvent EventFromJson(const Json& json);
// A stored document as JSON; an unreadable one reads as {} (so as an empty record or event).
Json ParseStoredJson(const std::string& text);
// The record of ToJson(job); artifacts too.
JobRecord RecordFromJson(const Json& json);

}  // namespace modelrt::jobs
