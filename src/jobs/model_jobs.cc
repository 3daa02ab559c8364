// model-warmup and model-inference: an alias loaded, or one request run, as a job.
#include <fstream>
#include <future>

#include "jobs/batch_run.h"
#include "jobs/job_kinds.h"
#include "modelrt/lifecycle.h"

namespace modelrt::jobs {

namespace {

std::string ModelParam(const Json& params) {
  auto it = params.find("model");
  return it != params.end() && it->is_string() ? it->get<std::string>() : std::string();
}

class WarmupJob : public JobKind {
 public:
  explicit WarmupJob(const JobDeps& deps) : deps_(deps) {}
  std::string_view name() const override { return kModelWarmup; }

  Result<JobPlan> Plan(const Json& params) const override {
    for (const auto& [key, value] : params.items()) {
      if (key != "model") return InvalidArgumentError("params: unknown key '" + key + "' (known: model)");
    }
    const std::string alias = ModelParam(params);
    if (alias.empty()) return InvalidArgumentError("params.model (an alias) is required");
    if (deps_.runtime != nullptr && !deps_.runtime->Contains(alias)) {
      return InvalidArgumentError("params.model: no alias '" + alias + "'");
    }
    JobPlan plan;
    plan.side_effects = {"loads_model", "reads_files"};
    plan.progress_unit = "steps";
    plan.requirements = {"model: " + alias};
    // A load in flight is shared with every caller waiting for it: it is not cut short.
    plan.cancellable = false;
    plan.steps = {"load " + alias + " (pulled first when its alias says pull: true)",
                  "report what it loaded"};
    plan.detail = {{"model", alias}};
    return plan;
  }

  Status Run(JobContext& job) override {
    if (deps_.runtime == nullptr) return FailedPreconditionError("no runtime in this process");
    const std::string alias = ModelParam(job.params());
    job.Progress(0, 2, "loading " + alias);
    MODELRT_RETURN_IF_ERROR(deps_.runtime->lifecycle().Load(alias));
    job.Progress(1, 2, "loaded");
    MODELRT_ASSIGN_OR_RETURN(ModelStatus status, deps_.runtime->Describe(alias));
    job.SetOutput({{"model", alias},
                   {"description", status.info.description},
                   {"memory_bytes", status.info.memory_bytes},
                   {"context_length", status.info.context_length},
                   {"dimensions", status.info.dimensions}});
    job.Progress(2, 2, "loaded");
    return OkStatus();
  }

 private:
  JobDeps deps_;
};

class InferenceJob : public JobKind {
 public:
  explicit InferenceJob(const JobDeps& deps) : deps_(deps) {}
  std::string_view name() const override { return kModelInference; }

  Result<JobPlan> Plan(const Json& params) const override {
    for (const auto& [key, value] : params.items()) {
      if (key != "endpoint" && key != "body") {
        return InvalidArgumentError("params: unknown key '" + key + "' (known: endpoint, body)");
      }
    }
    const std::string endpoint = params.value("endpoint", "");
    if (!IsBatchEndpoint(endpoint)) {
      return InvalidArgumentError("params.endpoint must be one of /v1/embeddings, "
                                  "/v1/chat/completions, /v1/completions, /v1/rerank");
    }
    const Json body = params.value("body", Json());
    if (!body.is_object() || !body.contains("model") || !body["model"].is_string()) {
      return InvalidArgumentError("params.body must be the request, with its model");
    }
    if (body.value("stream", false)) {
      return InvalidArgumentError("params.body.stream: a job's response is stored whole");
    }
    JobPlan plan;
    plan.side_effects = {"loads_model", "writes_files"};
    plan.progress_unit = "inputs";
    plan.artifacts = {{"output", "application/json", "the response body"}};
    plan.requirements = {"model: " + body["model"].get<std::string>()};
    plan.steps = {"run POST " + endpoint + " through the server's handlers",
                  "store the response as an artifact"};
    plan.detail = {{"endpoint", endpoint}, {"model", body["model"]}};
    return plan;
  }

  Status Run(JobContext& job) override {
    if (deps_.gateway == nullptr) return FailedPreconditionError("no API in this process");
    const std::string endpoint = job.params().value("endpoint", "");
    const Json body = job.params()["body"];
    job.Progress(0, 1, "running");
    auto reply = std::make_shared<std::promise<InferenceReply>>();
    CallContext ctx;
    ctx.cancel = job.cancel();
    deps_.gateway->Call(endpoint, body["model"].get<std::string>(), body.dump(), ctx,
                        [reply](InferenceReply r) { reply->set_value(std::move(r)); });
    InferenceReply r = reply->get_future().get();
    if (job.cancelled()) return CancelledError("cancelled");
    const std::string path = job.dir() + "/output.json";
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << r.body;
      if (!out) return UnavailableError("cannot write " + path);
    }
    MODELRT_RETURN_IF_ERROR(job.AddArtifact(
        {.id = "output", .kind = "output", .media_type = "application/json", .path = path,
         .metadata = {{"model.name", body["model"]}, {"endpoint", endpoint}}}));
    job.SetOutput({{"status_code", r.status}, {"request_id", r.request_id}});
    job.Progress(1, 1, "done");
    if (r.status < 200 || r.status >= 300) {
      Json error = Json::parse(r.body, nullptr, /*allow_exceptions=*/false);
      std::string message = error.is_object() && error.contains("error") && error["error"].is_object()
                                ? error["error"].value("message", r.body)
                                : r.body;
      return FailedPreconditionError("the request failed with " + std::to_string(r.status) + ": " +
                                     message);
    }
    return OkStatus();
  }

 private:
  JobDeps deps_;
};

}  // namespace

std::unique_ptr<JobKind> MakeWarmupJob(const JobDeps& deps) {
  return std::make_unique<WarmupJob>(deps);
}
std::unique_ptr<JobKind> MakeInferenceJob(const JobDeps& deps) {
  return std::make_unique<InferenceJob>(deps);
}

}  // namespace modelrt::jobs
