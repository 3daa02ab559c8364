#include "server/batches_handler.h"

#include <algorithm>
#include <cstdlib>

#include "jobs/job_runner.h"
#include "server/error_mapper.h"
#include "server/json_fields.h"

namespace modelrt::server {

namespace {

constexpr int64_t kWindowSeconds = 24 * 3600;

std::string BatchIdOf(const std::string& job_id) { return "batch_" + job_id.substr(4); }

// batch_X -> job_X; "" for anything else (then NotFound).
std::string JobIdOf(const std::string& batch_id) {
  return batch_id.rfind("batch_", 0) == 0 ? "job_" + batch_id.substr(6) : std::string();
}

std::string StatusOf(const jobs::JobRecord& job) {
  switch (job.state) {
    case jobs::JobState::kQueued: return "validating";
    case jobs::JobState::kRunning:
      return job.cancel_requested ? "cancelling" : job.output.value("phase", "validating");
    case jobs::JobState::kSucceeded: return "completed";
    case jobs::JobState::kFailed: return "failed";
    case jobs::JobState::kCancelled: return "cancelled";
  }
  return "failed";
}

Json Seconds(const Json& output, const char* key) {
  auto it = output.find(key);
  return it == output.end() ? Json(nullptr) : *it;
}

Status NotFoundBatch(const std::string& id) { return NotFoundError("No batch found with id '" + id + "'"); }

}  // namespace

Json BatchJson(const jobs::JobRecord& job) {
  const Json& out = job.output;
  const int64_t created = job.created_ms / 1000;
  Json errors = nullptr;
  if (out.contains("errors")) {
    errors = {{"object", "list"}, {"data", out["errors"]}};
  } else if (job.state == jobs::JobState::kFailed) {
    errors = {{"object", "list"},
              {"data", Json::array({{{"code", "batch_failed"}, {"message", job.error},
                                     {"param", nullptr}, {"line", nullptr}}})}};
  }
  Json counts = out.value("request_counts", Json{{"total", 0}, {"completed", 0}, {"failed", 0}});
  Json failed_at = Seconds(out, "failed_at");
  if (job.state == jobs::JobState::kFailed && failed_at.is_null()) failed_at = job.finished_ms / 1000;
  Json cancelling_at = nullptr;
  if (job.cancel_requested) cancelling_at = job.finished_ms > 0 ? job.finished_ms / 1000 : created;
  return {{"id", BatchIdOf(job.id)},
          {"object", "batch"},
          {"endpoint", job.params.value("endpoint", "")},
          {"errors", errors},
          {"input_file_id", job.params.value("input_file_id", "")},
          {"completion_window", job.params.value("completion_window", "24h")},
          {"status", StatusOf(job)},
          {"output_file_id", Seconds(out, "output_file_id")},
          {"error_file_id", Seconds(out, "error_file_id")},
          {"created_at", created},
          {"in_progress_at", Seconds(out, "in_progress_at")},
          {"expires_at", created + kWindowSeconds},
          {"finalizing_at", Seconds(out, "finalizing_at")},
          {"completed_at", job.state == jobs::JobState::kSucceeded ? Seconds(out, "completed_at")
                                                                  : Json(nullptr)},
          {"failed_at", job.state == jobs::JobState::kFailed ? failed_at : Json(nullptr)},
          {"expired_at", nullptr},
          {"cancelling_at", cancelling_at},
          {"cancelled_at", job.state == jobs::JobState::kCancelled
                               ? Json(job.finished_ms / 1000)
                               : Json(nullptr)},
          {"request_counts", counts},
          {"metadata", job.metadata.empty() ? Json(nullptr) : job.metadata}};
}

HttpResponse BatchesHandler::operator()(const HttpRequest& request, RequestContext& ctx) const {
  if (deps_.jobs == nullptr) {
    return ErrorResponse(FailedPreconditionError("this server runs no jobs (no data directory)"));
  }
  jobs::JobRunner& runner = *deps_.jobs;
  switch (action_) {
    case Action::kCreate: {
      Result<Json> body = ParseJsonObject(request.body);
      if (!body) return ErrorResponse(body.error());
      Result<std::string> input = RequiredString(*body, "input_file_id");
      if (!input) return ErrorResponse(input.error(), "input_file_id");
      Result<std::string> endpoint = RequiredString(*body, "endpoint");
      if (!endpoint) return ErrorResponse(endpoint.error(), "endpoint");
      Result<std::optional<std::string>> window = OptionalString(*body, "completion_window");
      if (!window) return ErrorResponse(window.error(), "completion_window");
      Json metadata = body->value("metadata", Json::object());
      if (metadata.is_null()) metadata = Json::object();
      if (!metadata.is_object() || metadata.size() > 16) {
        return ErrorResponse(InvalidArgumentError("metadata must be an object of at most 16 keys"),
                             "metadata");
      }
      jobs::JobSubmission submission{
          .kind = std::string(jobs::kBatchInference),
          .params = {{"input_file_id", *input},
                     {"endpoint", *endpoint},
                     {"completion_window", window->value_or("24h")}},
          .metadata = metadata};
      Result<jobs::JobRecord> job = runner.Submit(std::move(submission));
      if (!job) return ErrorResponse(job.error());
      return JsonResponse(200, BatchJson(*job));
    }
    case Action::kList: {
      const int64_t limit = std::clamp<int64_t>(
          std::atoll(QueryParam(request.query, "limit").value_or("20").c_str()), 1, 100);
      const std::string after = QueryParam(request.query, "after").value_or("");
      Result<std::vector<jobs::JobRecord>> jobs =
          runner.List({.kind = std::string(jobs::kBatchInference), .limit = 10000});
      if (!jobs) return ErrorResponse(jobs.error());
      Json data = Json::array();
      bool past_after = after.empty();
      bool has_more = false;
      for (const jobs::JobRecord& job : *jobs) {
        if (!past_after) {
          past_after = BatchIdOf(job.id) == after;
          continue;
        }
        if (static_cast<int64_t>(data.size()) == limit) {
          has_more = true;
          break;
        }
        data.push_back(BatchJson(job));
      }
      Json first = data.empty() ? Json(nullptr) : data.front()["id"];
      Json last = data.empty() ? Json(nullptr) : data.back()["id"];
      return JsonResponse(200, {{"object", "list"}, {"data", data}, {"first_id", first},
                                {"last_id", last}, {"has_more", has_more}});
    }
    case Action::kGet:
    case Action::kCancel: {
      const std::string id = ctx.params["id"];
      const std::string job_id = JobIdOf(id);
      if (job_id.empty()) return ErrorResponse(NotFoundBatch(id));
      Result<jobs::JobRecord> job =
          action_ == Action::kGet ? runner.Get(job_id) : runner.Cancel(job_id);
      if (!job) {
        return ErrorResponse(job.error().code() == StatusCode::kNotFound ? NotFoundBatch(id)
                                                                         : job.error());
      }
      if (job->kind != jobs::kBatchInference) return ErrorResponse(NotFoundBatch(id));
      return JsonResponse(200, BatchJson(*job));
    }
  }
  return ErrorResponse(InternalError("unknown batches action"));
}

}  // namespace modelrt::server
