#include "server/admin_jobs_handler.h"

#include <cstdlib>

#include "jobs/job_runner.h"
#include "server/admin_json.h"
#include "server/json_fields.h"
#include "server/sse_headers.h"

namespace modelrt::server {

namespace {

constexpr std::chrono::seconds kHeartbeat{5};

std::string SseEvent(const jobs::JobEvent& e) {
  return "id: " + std::to_string(e.seq) + "\nevent: " + e.type + "\ndata: " + ToJson(e).dump() +
         "\n\n";
}

}  // namespace

HttpResponse AdminJobsHandler::operator()(const HttpRequest& request, RequestContext& ctx) const {
  if (deps_.jobs == nullptr) {
    return AdminErrorResponse(FailedPreconditionError("this server runs no jobs"));
  }
  jobs::JobRunner& runner = *deps_.jobs;
  switch (action_) {
    case Action::kSubmit: {
      Result<Json> body = ParseJsonObject(request.body);
      if (!body) return AdminErrorResponse(body.error());
      Result<std::string> kind = RequiredString(*body, "kind");
      if (!kind) return AdminErrorResponse(kind.error());
      jobs::JobSubmission submission{.kind = *kind,
                                     .params = body->value("params", Json::object()),
                                     .metadata = body->value("metadata", Json::object())};
      if (!submission.metadata.is_object()) {
        return AdminErrorResponse(InvalidArgumentError("metadata must be an object"));
      }
      const std::string dry_run = QueryParam(request.query, "dry_run").value_or("false");
      if (dry_run == "true" || dry_run == "1") {
        Result<jobs::JobPlan> plan = runner.Plan(submission);
        if (!plan) return AdminErrorResponse(plan.error());
        return JsonResponse(200, {{"dry_run", true}, {"plan", ToJson(*plan)}});
      }
      Result<jobs::JobRecord> job = runner.Submit(std::move(submission));
      if (!job) return AdminErrorResponse(job.error());
      return JsonResponse(201, ToJson(*job));
    }
    case Action::kList: {
      jobs::JobFilter filter;
      filter.kind = QueryParam(request.query, "kind").value_or("");
      if (std::optional<std::string> state = QueryParam(request.query, "state")) {
        filter.state = jobs::ParseJobState(*state);
        if (!filter.state) {
          return AdminErrorResponse(InvalidArgumentError(
              "state must be queued, running, succeeded, failed or cancelled (got '" + *state + "')"));
        }
      }
      filter.limit = std::clamp(std::atoi(QueryParam(request.query, "limit").value_or("100").c_str()),
                                1, 1000);
      Result<std::vector<jobs::JobRecord>> jobs = runner.List(filter);
      if (!jobs) return AdminErrorResponse(jobs.error());
      Json data = Json::array();
      for (const jobs::JobRecord& j : *jobs) data.push_back(ToJson(j));
      return JsonResponse(200, {{"object", "list"}, {"data", data}});
    }
    case Action::kGet:
    case Action::kCancel: {
      Result<jobs::JobRecord> job = action_ == Action::kGet ? runner.Get(ctx.params["id"])
                                                            : runner.Cancel(ctx.params["id"]);
      if (!job) return AdminErrorResponse(job.error());
      return JsonResponse(200, ToJson(*job));
    }
    case Action::kEvents:
      return Events(request, ctx);
  }
  return AdminErrorResponse(InternalError("unknown jobs action"));
}

HttpResponse AdminJobsHandler::Events(const HttpRequest& request, RequestContext& ctx) const {
  jobs::JobRunner& runner = *deps_.jobs;
  const std::string id = ctx.params["id"];
  std::string from = QueryParam(request.query, "after").value_or(std::string(request.Header("Last-Event-ID")));
  int64_t after = std::atoll(from.c_str());
  Result<jobs::JobRunner::EventPage> page = runner.Events(id, after, std::chrono::milliseconds(0));
  if (!page) return AdminErrorResponse(page.error());
  if (ctx.stream == nullptr) {
    // No stream (a direct call): the events so far, as one list.
    Json data = Json::array();
    for (const jobs::JobEvent& e : page->events) data.push_back(ToJson(e));
    return JsonResponse(200, {{"object", "list"}, {"data", data}, {"finished", page->finished}});
  }
  if (!ctx.stream->Begin(200, SseHeaders())) return {};
  while (true) {
    for (const jobs::JobEvent& e : page->events) {
      if (!ctx.stream->Write(SseEvent(e))) return {};
      after = e.seq;
    }
    if (page->finished) return {};
    if (page->events.empty() && !ctx.stream->Write(": waiting\n\n")) return {};
    if (ctx.call.cancelled()) return {};
    page = runner.Events(id, after, kHeartbeat);
    if (!page) return {};
  }
}

}  // namespace modelrt::server
