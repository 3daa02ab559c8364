// One batch of OpenAI's Batch API format: checking its input file, then running its lines
// through an InferenceGateway into an output file and an error file, in input order, so that a
// run stopped anywhere (cancel, crash) resumes from the last line written and writes every line
// exactly once.
//
//   input   {"custom_id": "r1", "method": "POST", "url": "/v1/embeddings", "body": {...}}
//   output  {"id": "batch_req_...", "custom_id": "r1",
//            "response": {"status_code": 200, "request_id": "...", "body": {...}}, "error": null}
//
// Responses with a 2xx status go to the output file, the others to the error file. Lines run up
// to `in_flight` at a time (so the engines batch them), one at a time while interactive requests
// use the same model (and half a second after); 429 and 503 (the server's queue was full) are
// retried.
//
//   MODELRT_ASSIGN_OR_RETURN(BatchInputCheck check, CheckBatchInput(in, "/v1/embeddings", limits));
//   BatchCheckpoint at;                       // or one saved by an earlier run
//   MODELRT_RETURN_IF_ERROR(RunBatch(options, gateway, cancel, at, on_flush));
//
// Thread-safety: functions; RunBatch blocks its caller and calls on_flush on it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "jobs/inference_gateway.h"
#include "modelrt/model.h"
#include "modelrt/status.h"

namespace modelrt::jobs {

// The endpoints a batch may target.
bool IsBatchEndpoint(std::string_view endpoint);

struct BatchLineError {
  std::string code;  // "invalid_json", "invalid_request", "duplicate_custom_id", ...
  std::string message;
  int64_t line = 0;  // 1-based
};

struct BatchInputCheck {
  int64_t requests = 0;
  std::vector<BatchLineError> errors;  // the first 1000
  std::vector<std::string> models;     // distinct body.model values, in order of appearance
};

struct BatchLimits {
  int64_t max_lines = 50000;
  int64_t max_bytes = int64_t{200} << 20;
};

// Errors: NotFound (no file), InvalidArgument (an endpoint batches do not serve, or the file
// over a limit). Problems with single lines are in `errors`.
Result<BatchInputCheck> CheckBatchInput(const std::string& path, std::string_view endpoint,
                                        const BatchLimits& limits);

struct BatchCounts {
  int64_t total = 0;
  int64_t completed = 0;
  int64_t failed = 0;
};
nlohmann::json ToJson(const BatchCounts& counts);

// Where a run is: the next request to run (0-based, blank lines not counted) and the sizes of
// the two files after the last one written.
struct BatchCheckpoint {
  int64_t next_request = 0;
  int64_t output_bytes = 0;
  int64_t error_bytes = 0;
  BatchCounts counts;
};
nlohmann::json ToJson(const BatchCheckpoint& checkpoint);
BatchCheckpoint CheckpointFromJson(const nlohmann::json& json);

struct BatchRunOptions {
  std::string batch_id;  // seeds the output lines' ids (the same on a resume)
  std::string input_path;
  std::string output_path;
  std::string error_path;
  std::string endpoint;
  int in_flight = 32;
  int max_retries = 20;  // per line, for 429 and 503
};

// Runs the requests from `at.next_request` on (the files are cut back to the checkpoint's sizes
// first: what a crashed run wrote past it is written again, once). `on_flush` sees the new
// checkpoint after lines were written. Returns Cancelled when `cancel` stopped it (the lines
// finished by then are written).
Status RunBatch(const BatchRunOptions& options, InferenceGateway& gateway,
                CancelSignal& cancel, BatchCheckpoint& at,
                const std::function<void(const BatchCheckpoint&)>& on_flush);

}  // namespace modelrt::jobs
