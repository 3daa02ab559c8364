// OpenAI's Batch API over model-batch-inference jobs (a batch is a job: batch_X is job_X):
//
//   POST /v1/batches               {input_file_id, endpoint, completion_window: "24h", metadata}
//   GET  /v1/batches[?limit&after]  {object: list, data, first_id, last_id, has_more}
//   GET  /v1/batches/{id}
//   POST /v1/batches/{id}/cancel
//
// Statuses from the job: queued -> validating; running -> its phase (validating, in_progress,
// finalizing) or cancelling once a cancel was asked; then completed, failed or cancelled.
//
// Thread-safety: stateless; safe from many threads.
#pragma once

#include "jobs/job_types.h"
#include "server/handler_deps.h"
#include "server/http_message.h"
#include "server/request_context.h"

namespace modelrt::server {

// The batch object of a model-batch-inference job.
Json BatchJson(const jobs::JobRecord& job);

class BatchesHandler {
 public:
  enum class Action { kCreate, kList, kGet, kCancel };
  BatchesHandler(HandlerDeps deps, Action action) : deps_(deps), action_(action) {}
  HttpResponse operator()(const HttpRequest& request, RequestContext& ctx) const;

 private:
  HandlerDeps deps_;
  Action action_;
};

}  // namespace modelrt::server
