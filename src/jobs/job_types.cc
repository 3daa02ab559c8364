#include "jobs/job_types.h"

namespace modelrt::jobs {

namespace {

constexpr std::pair<JobState, std::string_view> kStateNames[] = {
    {JobState::kQueued, "queued"},       {JobState::kRunning, "running"},
    {JobState::kSucceeded, "succeeded"}, {JobState::kFailed, "failed"},
    {JobState::kCancelled, "cancelled"},
};

template <typename T>
T Field(const Json& json, const char* key, T fallback) {
  auto it = json.find(key);
  if (it == json.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const Json::exception&) {
    return fallback;
  }
}

std::vector<std::string> Strings(const Json& json, const char* key) {
  return Field<std::vector<std::string>>(json, key, {});
}

}  // namespace

std::string_view ToString(JobState state) {
  for (const auto& [s, name] : kStateNames) {
    if (s == state) return name;
  }
  return "unknown";
}

std::optional<JobState> ParseJobState(std::string_view name) {
  for (const auto& [s, n] : kStateNames) {
    if (n == name) return s;
  }
  return std::nullopt;
}

Json ToJson(const JobPlan& plan) {
  Json artifacts = Json::array();
  for (const auto& a : plan.artifacts) {
    artifacts.push_back(
        {{"kind", a.kind}, {"media_type", a.media_type}, {"description", a.description}});
  }
  return {{"kind", plan.kind},
          {"execution_mode", plan.execution_mode},
          {"side_effects", plan.side_effects},
          {"progress_unit", plan.progress_unit},
          {"expected_artifacts", artifacts},
          {"requirements", plan.requirements},
          {"cancellable", plan.cancellable},
          {"resumable", plan.resumable},
          {"steps", plan.steps},
          {"detail", plan.detail}};
}

Json ToJson(const JobProgress& p) {
  return {{"done", p.done},
          {"total", p.total < 0 ? Json(nullptr) : Json(p.total)},
          {"unit", p.unit},
          {"message", p.message}};
}

Json ToJson(const Artifact& a) {
  return {{"id", a.id},         {"kind", a.kind},     {"media_type", a.media_type},
          {"path", a.path},     {"sha256", a.sha256}, {"bytes", a.bytes},
          {"metadata", a.metadata}};
}

Json ToJson(const JobEvent& e) {
  return {{"seq", e.seq}, {"time_ms", e.time_ms}, {"type", e.type}, {"data", e.data}};
}

Json ToJson(const JobRecord& job) {
  Json artifacts = Json::array();
  for (const Artifact& a : job.artifacts) artifacts.push_back(ToJson(a));
  auto time_or_null = [](int64_t ms) { return ms == 0 ? Json(nullptr) : Json(ms); };
  Json json = {{"id", job.id},
                {"kind", job.kind},
                {"state", ToString(job.state)},
                {"params", job.params},
                {"metadata", job.metadata},
                {"plan", ToJson(job.plan)},
                {"created_ms", job.created_ms},
                {"started_ms", time_or_null(job.started_ms)},
                {"finished_ms", time_or_null(job.finished_ms)},
                {"progress", ToJson(job.progress)},
                {"output", job.output},
                {"error", job.error.empty() ? Json(nullptr) : Json(job.error)},
                {"diagnostics", job.diagnostics},
                {"artifacts", artifacts},
                {"checkpoint", job.checkpoint},
                {"attempts", job.attempts},
                {"cancel_requested", job.cancel_requested}};
  if (!job.runner.empty()) json["runner"] = job.runner;
  return json;
}

JobPlan PlanFromJson(const Json& json) {
  JobPlan plan;
  plan.kind = Field<std::string>(json, "kind", "");
  plan.execution_mode = Field<std::string>(json, "execution_mode", "worker");
  plan.side_effects = Strings(json, "side_effects");
  plan.progress_unit = Field<std::string>(json, "progress_unit", "");
  for (const Json& a : json.value("expected_artifacts", Json::array())) {
    plan.artifacts.push_back({Field<std::string>(a, "kind", ""),
                              Field<std::string>(a, "media_type", ""),
                              Field<std::string>(a, "description", "")});
  }
  plan.requirements = Strings(json, "requirements");
  plan.cancellable = Field<bool>(json, "cancellable", true);
  plan.resumable = Field<bool>(json, "resumable", false);
  plan.steps = Strings(json, "steps");
  plan.detail = json.value("detail", Json::object());
  return plan;
}

Artifact ArtifactFromJson(const Json& json) {
  Artifact a;
  a.id = Field<std::string>(json, "id", "");
  a.kind = Field<std::string>(json, "kind", "");
  a.media_type = Field<std::string>(json, "media_type", "");
  a.path = Field<std::string>(json, "path", "");
  a.sha256 = Field<std::string>(json, "sha256", "");
  a.bytes = Field<int64_t>(json, "bytes", 0);
  a.metadata = json.value("metadata", Json::object());
  return a;
}

JobRecord RecordFromJson(const Json& json) {
  JobRecord job;
  job.id = Field<std::string>(json, "id", "");
  job.kind = Field<std::string>(json, "kind", "");
  job.state = ParseJobState(Field<std::string>(json, "state", "")).value_or(JobState::kFailed);
  job.params = json.value("params", Json::object());
  job.metadata = json.value("metadata", Json::object());
  job.plan = PlanFromJson(json.value("plan", Json::object()));
  job.created_ms = Field<int64_t>(json, "created_ms", 0);
  job.started_ms = Field<int64_t>(json, "started_ms", 0);
  job.finished_ms = Field<int64_t>(json, "finished_ms", 0);
  const Json progress = json.value("progress", Json::object());
  job.progress = {Field<int64_t>(progress, "done", 0), Field<int64_t>(progress, "total", -1),
                  Field<std::string>(progress, "unit", ""),
                  Field<std::string>(progress, "message", "")};
  job.output = json.value("output", Json::object());
  job.error = Field<std::string>(json, "error", "");
  job.diagnostics = Strings(json, "diagnostics");
  for (const Json& a : json.value("artifacts", Json::array())) {
    job.artifacts.push_back(ArtifactFromJson(a));
  }
  job.checkpoint = json.value("checkpoint", Json());
  job.attempts = Field<int>(json, "attempts", 0);
  job.cancel_requested = Field<bool>(json, "cancel_requested", false);
  job.runner = Field<std::string>(json, "runner", "");
  return job;
}

Json ParseStoredJson(const std::string& text) {
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return doc.is_discarded() ? Json::object() : doc;
}

JobEvent EventFromJson(const Json& json) {
  return {json.value("seq", int64_t{0}), json.value("time_ms", int64_t{0}),
          json.value("type", std::string()), json.value("data", Json::object())};
}

}  // namespace modelrt::jobs
