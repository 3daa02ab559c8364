// model-batch-inference: a Batch API input file run through the server's handlers. Its phases
// (the batch's statuses) are in output.phase: validating, in_progress, finalizing; the job's
// end state gives completed, failed or cancelled.
#include <chrono>
#include <filesystem>

#include "jobs/batch_run.h"
#include "jobs/job_kinds.h"

namespace modelrt::jobs {

namespace {

namespace fs = std::filesystem;

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class BatchJob : public JobKind {
 public:
  explicit BatchJob(const JobDeps& deps) : deps_(deps) {}
  std::string_view name() const override { return kBatchInference; }

  Result<JobPlan> Plan(const Json& params) const override {
    for (const auto& [key, value] : params.items()) {
      if (key != "input_file_id" && key != "endpoint" && key != "completion_window" &&
          key != "batch_id") {
        return InvalidArgumentError("params: unknown key '" + key +
                                    "' (known: input_file_id, endpoint, completion_window)");
      }
    }
    const std::string endpoint = params.value("endpoint", "");
    if (!IsBatchEndpoint(endpoint)) {
      return InvalidArgumentError("endpoint must be one of /v1/embeddings, /v1/chat/completions, "
                                  "/v1/completions, /v1/rerank");
    }
    if (params.value("completion_window", "24h") != "24h") {
      return InvalidArgumentError("completion_window must be \"24h\"");
    }
    if (deps_.files == nullptr) return FailedPreconditionError("this process keeps no files");
    MODELRT_ASSIGN_OR_RETURN(StoredFile input, deps_.files->Get(params.value("input_file_id", "")));
    if (input.purpose != "batch") {
      return InvalidArgumentError("input_file_id: " + input.id + " was uploaded with purpose '" +
                                  input.purpose + "', not 'batch'");
    }
    JobPlan plan;
    plan.side_effects = {"reads_files", "writes_files", "loads_model"};
    plan.progress_unit = "inputs";
    plan.artifacts = {{"output", "application/jsonl", "one response line per 2xx request"},
                      {"errors", "application/jsonl", "one line per failed request"}};
    plan.requirements = {"file: " + input.id};
    plan.resumable = true;
    plan.steps = {"validate every line of " + input.id,
                  "run the requests through " + endpoint + " (at most " +
                      std::to_string(deps_.config.batch_in_flight) +
                      " at once, one while interactive requests use the model)",
                  "write the output and error files in input order"};
    plan.detail = {{"input_file_id", input.id}, {"bytes", input.bytes}, {"endpoint", endpoint}};
    return plan;
  }

  Status Run(JobContext& job) override {
    if (deps_.gateway == nullptr || deps_.files == nullptr) {
      return FailedPreconditionError("no API in this process");
    }
    const Json& params = job.params();
    const std::string endpoint = params.value("endpoint", "");
    MODELRT_ASSIGN_OR_RETURN(StoredFile input, deps_.files->Get(params.value("input_file_id", "")));
    if (!job.resumed() || job.checkpoint().is_null()) {
      job.SetOutput({{"phase", "validating"}});
    }
    MODELRT_ASSIGN_OR_RETURN(
        BatchInputCheck check,
        CheckBatchInput(input.path, endpoint,
                        {deps_.config.batch_max_lines, deps_.config.batch_max_file_bytes}));
    if (!check.errors.empty()) {
      Json errors = Json::array();
      for (const BatchLineError& e : check.errors) {
        errors.push_back({{"code", e.code}, {"message", e.message}, {"param", nullptr},
                          {"line", e.line == 0 ? Json(nullptr) : Json(e.line)}});
      }
      job.SetOutput({{"errors", errors}, {"failed_at", NowSeconds()}});
      return InvalidArgumentError("the input file has " + std::to_string(check.errors.size()) +
                                  " invalid line(s); the first: " + check.errors.front().message);
    }
    BatchCheckpoint at = CheckpointFromJson(job.checkpoint());
    at.counts.total = check.requests;
    if (at.next_request > 0) {
      job.Note("resuming at request " + std::to_string(at.next_request + 1) + " of " +
               std::to_string(check.requests));
    }
    Json started = {{"phase", "in_progress"}, {"request_counts", ToJson(at.counts)}};
    if (!job.output().contains("in_progress_at")) started["in_progress_at"] = NowSeconds();
    job.SetOutput(started);
    BatchRunOptions options;
    options.batch_id = params.value("batch_id", job.id());
    options.input_path = input.path;
    options.output_path = job.dir() + "/output.jsonl";
    options.error_path = job.dir() + "/errors.jsonl";
    options.endpoint = endpoint;
    options.in_flight = deps_.config.batch_in_flight;
    job.Progress(at.next_request, check.requests);
    Status run = RunBatch(options, *deps_.gateway, *job.cancel(), at,
                          [&](const BatchCheckpoint& c) {
                            // The counts first: the checkpoint's save stores them too.
                            job.SetOutput({{"request_counts", ToJson(c.counts)}});
                            if (Status s = job.SaveCheckpoint(ToJson(c)); !s.ok()) {
                              job.Note("checkpoint not saved: " + s.message());
                            }
                            job.Progress(c.next_request, c.counts.total);
                          });
    if (!run.ok() && !job.cancelled()) return run;
    job.SetOutput({{"phase", "finalizing"}, {"finalizing_at", NowSeconds()}});
    // The files as the Files API serves them; a cancelled batch keeps what it finished.
    Json out;
    for (const auto& [id, path, purpose_name] :
         {std::tuple{"output", options.output_path, "output_file_id"},
          std::tuple{"errors", options.error_path, "error_file_id"}}) {
      std::error_code ec;
      if (fs::file_size(path, ec) == 0 && std::string_view(id) == "errors") {
        out[purpose_name] = nullptr;
        continue;
      }
      MODELRT_ASSIGN_OR_RETURN(
          StoredFile f, deps_.files->Adopt(path, "batch_output", options.batch_id + "_" + id + ".jsonl"));
      out[purpose_name] = f.id;
      MODELRT_RETURN_IF_ERROR(job.AddArtifact({.id = id, .kind = id,
                                               .media_type = "application/jsonl", .path = path,
                                               .metadata = {{"file_id", f.id},
                                                            {"endpoint", endpoint}}}));
    }
    out["request_counts"] = ToJson(at.counts);
    out[job.cancelled() ? "cancelled_at" : "completed_at"] = NowSeconds();
    job.SetOutput(out);
    return run;
  }

 private:
  JobDeps deps_;
};

}  // namespace

std::unique_ptr<JobKind> MakeBatchJob(const JobDeps& deps) {
  return std::make_unique<BatchJob>(deps);
}

}  // namespace modelrt::jobs
