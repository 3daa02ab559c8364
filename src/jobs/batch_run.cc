#include "jobs/batch_run.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include "core/json_depth.h"
#include "core/sha256.h"

namespace modelrt::jobs {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kMaxReportedErrors = 1000;
// The checkpoint is handed on at most this often (and at the end).
constexpr std::chrono::milliseconds kFlushEvery{200};
// How long after the last interactive request a batch keeps yielding.
constexpr std::chrono::milliseconds kYieldFor{500};

// A line's depth limit: one level over the API's for its body (server/json_fields.cc).
constexpr int kMaxDepth = 129;

bool IsBlank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

// `key` of a line's object when it is a string, else "". (Json::value throws when the key holds
// another type: a line's wrong type must be that line's error, not an exception out of the job.)
std::string StringField(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// One request of the file, as the run needs it.
struct Request {
  int64_t index = 0;  // 0-based among requests
  std::string custom_id;
  std::string model;
  std::string body;
  int attempts = 0;
  Clock::time_point retry_at{};
};

// A checked line's request; a line that no longer parses (the file changed) gets an error reply.
std::optional<Request> ParseRequest(std::string_view line, int64_t index) {
  Json json = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("body") || !json["body"].is_object()) return std::nullopt;
  Request r;
  r.index = index;
  r.custom_id = StringField(json, "custom_id");
  r.model = StringField(json["body"], "model");
  r.body = json["body"].dump();
  return r;
}

std::string OutputLine(const std::string& batch_id, const Request& r, const InferenceReply& reply) {
  Json body = Json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) body = reply.body;
  Json line = {{"id", "batch_req_" + Sha256Hex(batch_id + "/" + std::to_string(r.index)).substr(0, 24)},
               {"custom_id", r.custom_id},
               {"response",
                {{"status_code", reply.status}, {"request_id", reply.request_id}, {"body", body}}},
               {"error", nullptr}};
  return line.dump() + "\n";
}

// Cuts `path` back to `size` bytes (creating it when absent).
Status CutTo(const std::string& path, int64_t size) {
  std::error_code ec;
  if (!fs::exists(path, ec)) std::ofstream(path, std::ios::binary);
  fs::resize_file(path, static_cast<uintmax_t>(size), ec);
  if (ec) return UnavailableError("cannot prepare " + path + ": " + ec.message());
  return OkStatus();
}

}  // namespace

bool IsBatchEndpoint(std::string_view endpoint) {
  return endpoint == "/v1/embeddings" || endpoint == "/v1/chat/completions" ||
         endpoint == "/v1/completions" || endpoint == "/v1/rerank";
}

Json ToJson(const BatchCounts& c) {
  return {{"total", c.total}, {"completed", c.completed}, {"failed", c.failed}};
}

Json ToJson(const BatchCheckpoint& c) {
  return {{"next_request", c.next_request},
          {"output_bytes", c.output_bytes},
          {"error_bytes", c.error_bytes},
          {"request_counts", ToJson(c.counts)}};
}

BatchCheckpoint CheckpointFromJson(const Json& json) {
  BatchCheckpoint c;
  if (!json.is_object()) return c;
  c.next_request = json.value("next_request", int64_t{0});
  c.output_bytes = json.value("output_bytes", int64_t{0});
  c.error_bytes = json.value("error_bytes", int64_t{0});
  const Json counts = json.value("request_counts", Json::object());
  c.counts.total = counts.value("total", int64_t{0});
  c.counts.completed = counts.value("completed", int64_t{0});
  c.counts.failed = counts.value("failed", int64_t{0});
  return c;
}

Result<BatchInputCheck> CheckBatchInput(const std::string& path, std::string_view endpoint,
                                        const BatchLimits& limits) {
  if (!IsBatchEndpoint(endpoint)) {
    return InvalidArgumentError("endpoint must be one of /v1/embeddings, /v1/chat/completions, "
                                "/v1/completions, /v1/rerank (got " + std::string(endpoint) + ")");
  }
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return NotFoundError("cannot read the batch's input " + path + ": " + ec.message());
  BatchInputCheck check;
  auto fail = [&](std::string code, std::string message, int64_t line) {
    if (check.errors.size() < kMaxReportedErrors) {
      check.errors.push_back({std::move(code), std::move(message), line});
    }
  };
  if (static_cast<int64_t>(size) > limits.max_bytes) {
    fail("file_too_large", "the input file has " + std::to_string(size) + " bytes; the limit is " +
                               std::to_string(limits.max_bytes), 0);
    return check;
  }
  std::ifstream in(path, std::ios::binary);
  std::set<std::string, std::less<>> ids;
  std::set<std::string> models;
  std::string text;
  for (int64_t line = 1; std::getline(in, text); ++line) {
    if (IsBlank(text)) continue;
    if (++check.requests > limits.max_lines) {
      fail("too_many_requests", "the input has more than " + std::to_string(limits.max_lines) +
                                    " requests (jobs.batch_max_lines)", line);
      break;
    }
    if (JsonNestsDeeperThan(text, kMaxDepth)) {
      fail("invalid_json", "the line nests deeper than " + std::to_string(kMaxDepth) + " levels",
           line);
      continue;
    }
    Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) {
      fail("invalid_json", "the line is not a JSON object", line);
      continue;
    }
    const Json* id = json.contains("custom_id") ? &json["custom_id"] : nullptr;
    if (id == nullptr || !id->is_string() || id->get_ref<const std::string&>().empty()) {
      fail("missing_required_parameter", "custom_id must be a non-empty string", line);
      continue;
    }
    if (!ids.insert(id->get<std::string>()).second) {
      fail("duplicate_custom_id", "custom_id '" + id->get<std::string>() + "' is used twice", line);
      continue;
    }
    if (StringField(json, "method") != "POST") {
      fail("invalid_method", "method must be \"POST\"", line);
      continue;
    }
    if (const std::string url = StringField(json, "url"); url != endpoint) {
      fail("mismatched_endpoint", "url must be the batch's endpoint " + std::string(endpoint) +
                                      " (got \"" + url + "\")", line);
      continue;
    }
    const Json* body = json.contains("body") ? &json["body"] : nullptr;
    if (body == nullptr || !body->is_object()) {
      fail("missing_required_parameter", "body must be a JSON object", line);
      continue;
    }
    if (!body->contains("model") || !(*body)["model"].is_string()) {
      fail("missing_required_parameter", "body.model must be a string", line);
      continue;
    }
    if (auto stream = body->find("stream");
        stream != body->end() && stream->is_boolean() && stream->get<bool>()) {
      fail("invalid_request", "streaming is not available in a batch (body.stream)", line);
      continue;
    }
    if (models.insert((*body)["model"].get<std::string>()).second) {
      check.models.push_back((*body)["model"].get<std::string>());
    }
  }
  if (check.requests == 0 && check.errors.empty()) fail("empty_file", "the input has no requests", 0);
  return check;
}

Status RunBatch(const BatchRunOptions& options, InferenceGateway& gateway,
                CancelSignal& cancel, BatchCheckpoint& at,
                const std::function<void(const BatchCheckpoint&)>& on_flush) {
  MODELRT_RETURN_IF_ERROR(CutTo(options.output_path, at.output_bytes));
  MODELRT_RETURN_IF_ERROR(CutTo(options.error_path, at.error_bytes));
  std::ofstream output(options.output_path, std::ios::binary | std::ios::app);
  std::ofstream errors(options.error_path, std::ios::binary | std::ios::app);
  std::ifstream input(options.input_path, std::ios::binary);
  if (!input || !output || !errors) return UnavailableError("cannot open the batch's files");

  struct Finished {
    bool ok = false;
    std::string line;
  };
  // What the engines' callbacks hand back; shared so a late callback never outlives it.
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::map<int64_t, Finished> finished;
    std::deque<Request> retries;
    int in_flight = 0;
    uint64_t replies = 0;  // counts callbacks: the loop wakes on each
  };
  auto shared = std::make_shared<Shared>();
  // One signal for every call of the batch, tripped by the job's cancel.
  auto calls_cancel = std::make_shared<CancelSignal>();
  const uint64_t forward = cancel.OnCancel([calls_cancel] {
    calls_cancel->Cancel();
  });

  const int max_in_flight = std::max(1, options.in_flight);
  const int64_t max_ahead = 4 * static_cast<int64_t>(max_in_flight);
  int64_t next_dispatch = at.next_request;
  const int64_t resume_at = at.next_request;  // requests written by an earlier run
  int64_t skipped = 0;
  bool input_done = false;
  std::string text;
  auto next_request = [&]() -> std::optional<Request> {
    while (std::getline(input, text)) {
      if (IsBlank(text)) continue;
      if (skipped < resume_at) {
        ++skipped;
        continue;
      }
      std::optional<Request> r = ParseRequest(text, next_dispatch);
      if (!r) r = Request{next_dispatch, "", "", "{}"};
      ++next_dispatch;
      return r;
    }
    input_done = true;
    return std::nullopt;
  };

  auto dispatch = [&](Request r) {
    CallContext ctx;
    ctx.cancel = calls_cancel;
    ++r.attempts;
    {
      std::lock_guard lock(shared->mu);
      ++shared->in_flight;
    }
    const std::string model = r.model;
    const std::string body = r.body;
    gateway.Call(options.endpoint, model, body, ctx,
                 [shared, calls_cancel, r = std::move(r), &options](InferenceReply reply) mutable {
                   std::lock_guard lock(shared->mu);
                   --shared->in_flight;
                   if (calls_cancel->cancelled()) {
                     // Stopped by the cancel, not answered: left for no one.
                   } else if ((reply.status == 429 || reply.status == 503) &&
                              r.attempts <= options.max_retries) {
                     r.retry_at = Clock::now() + std::min(std::chrono::milliseconds(2000),
                                                          std::chrono::milliseconds(50) *
                                                              (1 << std::min(r.attempts, 6)));
                     shared->retries.push_back(std::move(r));
                   } else {
                     const bool ok = reply.status >= 200 && reply.status < 300;
                     shared->finished[r.index] = {ok, OutputLine(options.batch_id, r, reply)};
                   }
                   ++shared->replies;
                   shared->cv.notify_all();
                 });
  };

  uint64_t seen_replies = 0;
  Clock::time_point interactive_seen{};
  std::optional<Request> held;  // read (or due for a retry), waiting for room in the window
  auto last_flush = Clock::now();
  int64_t next_write = at.next_request;
  bool dirty = false;
  while (true) {
    // Write what is finished, in order.
    std::vector<Finished> ready;
    {
      std::lock_guard lock(shared->mu);
      for (auto it = shared->finished.begin();
           it != shared->finished.end() && it->first == next_write; it = shared->finished.erase(it)) {
        ready.push_back(std::move(it->second));
        ++next_write;
      }
    }
    for (const Finished& f : ready) {
      std::ofstream& out = f.ok ? output : errors;
      out << f.line;
      (f.ok ? at.output_bytes : at.error_bytes) += static_cast<int64_t>(f.line.size());
      ++(f.ok ? at.counts.completed : at.counts.failed);
      ++at.next_request;
      dirty = true;
    }
    int in_flight;
    bool retries_left;
    {
      std::lock_guard lock(shared->mu);
      in_flight = shared->in_flight;
      retries_left = !shared->retries.empty();
    }
    const bool stopping = cancel.cancelled();
    const bool all_done =
        input_done && !held && in_flight == 0 && !retries_left && next_write == next_dispatch;
    if (dirty && (all_done || (stopping && in_flight == 0) || Clock::now() - last_flush >= kFlushEvery)) {
      output.flush();
      errors.flush();
      if (!output || !errors) return UnavailableError("cannot write the batch's output");
      on_flush(at);
      last_flush = Clock::now();
      dirty = false;
    }
    if (all_done) break;
    if (stopping && in_flight == 0) break;

    if (!stopping) {
      while (true) {
        {
          std::lock_guard lock(shared->mu);
          in_flight = shared->in_flight;
          if (!held && !shared->retries.empty() && shared->retries.front().retry_at <= Clock::now()) {
            held = std::move(shared->retries.front());
            shared->retries.pop_front();
          }
        }
        if (!held) {
          if (input_done || next_dispatch - next_write >= max_ahead) break;
          held = next_request();
          if (!held) break;
        }
        // Interactive traffic for the same model comes first: while any waits or runs (and for
        // a moment after: clients between two requests hold none), the batch keeps one request
        // in flight, so an interactive request finds at most one batch sequence ahead of it.
        const auto now = Clock::now();
        if (gateway.InteractiveLoad(held->model) > 0) interactive_seen = now;
        const int window = now - interactive_seen < kYieldFor ? 1 : max_in_flight;
        if (in_flight >= window) break;
        dispatch(std::move(*held));
        held.reset();
      }
    }
    std::unique_lock lock(shared->mu);
    shared->cv.wait_for(lock, std::chrono::milliseconds(50),
                        [&] { return shared->replies != seen_replies; });
    seen_replies = shared->replies;
  }
  cancel.Forget(forward);
  if (cancel.cancelled()) return CancelledError("the batch was cancelled");
  return OkStatus();
}

}  // namespace modelrt::jobs
