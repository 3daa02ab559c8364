#include "providers/sequence_batcher.h"

#include <algorithm>
#include <optional>

#include "core/logging.h"

namespace modelrt {

struct SequenceBatcher::Request {
  std::vector<Sequence> inputs;
  CallContext ctx;
  size_t next = 0;  // first input not yet taken into a batch (under mu_)
  // Worker thread only:
  size_t remaining = 0;  // inputs without an output yet
  Outputs outputs;
  bool finished = false;
  std::atomic<int>* active = nullptr;  // the batcher's count of unfinished requests
  Done done;                           // RunAsync's; Run's caller waits below instead

  // Run's caller waits here for the result, or to be woken by its cancel signal.
  Mutex mu;
  CondVar cv;
  std::optional<Result<Outputs>> result GUARDED_BY(mu);
  bool woken GUARDED_BY(mu) = false;

  void Finish(Result<Outputs> out) {
    if (finished) return;
    finished = true;
    active->fetch_sub(1);
    if (done) {
      Done call = std::move(done);
      call(std::move(out));
      return;
    }
    {
      MutexLock lock(mu);
      result = std::move(out);
    }
    cv.notify_all();
  }
  void Wake() {
    {
      MutexLock lock(mu);
      woken = true;
    }
    cv.notify_all();
  }
};

SequenceBatcher::SequenceBatcher(SequenceBatcherOptions options, Engine engine)
    : options_([&] {
        options.max_sequences = std::clamp(options.max_sequences, 1, 4096);
        options.max_tokens = std::max<int64_t>(options.max_tokens, 1);
        options.max_queue = std::max(options.max_queue, 1);
        options.batch_wait_us = std::max(options.batch_wait_us, 0);
        return std::move(options);
      }()),
      engine_(std::move(engine)),
      peak_active_(options_.max_sequences) {
  alive_ = true;
  thread_ = std::thread([this] { Loop(); });
}

SequenceBatcher::~SequenceBatcher() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status SequenceBatcher::Enqueue(const std::shared_ptr<Request>& request) {
  request->remaining = request->inputs.size();
  request->outputs.resize(request->inputs.size());
  request->active = &active_;
  MutexLock lock(mu_);
  if (stop_ || !alive_) return UnavailableError("embedding worker is stopped");
  if (static_cast<int>(queue_.size()) >= options_.max_queue)
    return ResourceExhaustedError("queue full (" + std::to_string(options_.max_queue) +
                                  " requests waiting)");
  queue_.push_back(request);
  peak_active_ = std::max(peak_active_, active_.fetch_add(1) + 1);
  // Notified under the lock: from here on the caller touches only its own request, so the
  // batcher may be stopped under a waiting caller without a use-after-free. A worker that is
  // running a batch needs no wake-up (it looks at the queue next), which saves a futex call per
  // request under load.
  if (worker_waiting_) cv_.notify_all();
  return OkStatus();
}

void SequenceBatcher::RunAsync(std::vector<Sequence> sequences, const CallContext& ctx, Done done) {
  if (Status status = ctx.Check(); !status.ok()) return done(status);
  if (sequences.empty()) return done(Outputs{});
  auto request = std::make_shared<Request>();
  request->inputs = std::move(sequences);
  request->ctx = ctx;
  request->done = std::move(done);
  if (Status queued = Enqueue(request); !queued.ok()) {
    Done call = std::move(request->done);
    call(queued);
  }
}

Result<SequenceBatcher::Outputs> SequenceBatcher::Run(std::vector<Sequence> sequences,
                                                      const CallContext& ctx) {
  MODELRT_RETURN_IF_ERROR(ctx.Check());
  if (sequences.empty()) return Outputs{};
  auto request = std::make_shared<Request>();
  request->inputs = std::move(sequences);
  request->ctx = ctx;
  MODELRT_RETURN_IF_ERROR(Enqueue(request));
  // A cancelled or expired caller returns at once (the cancel signal wakes it; no polling); the
  // worker drops the request when it reaches it (the request shares the caller's context).
  const uint64_t key = ctx.cancel ? ctx.cancel->OnCancel([request] { request->Wake(); }) : 0;
  Result<Outputs> out = CancelledError("cancelled");
  {
    MutexLock lock(request->mu);
    auto ready = [&]() REQUIRES(request->mu) { return request->result || request->woken; };
    if (ctx.deadline == Clock::time_point::max()) {
      request->cv.wait(lock.native(), ready);
    } else {
      request->cv.wait_until(lock.native(), ctx.deadline, ready);
    }
    if (request->result) out = std::move(*request->result);
  }
  if (key) ctx.cancel->Forget(key);
  if (out) return out;
  if (Status status = ctx.Check(); !status.ok()) return status;
  return out;
}

int SequenceBatcher::queue_depth() const {
  MutexLock lock(mu_);
  return static_cast<int>(queue_.size());
}

bool SequenceBatcher::BatchFull() const {
  int sequences = 0;
  int64_t tokens = 0;
  for (const auto& request : queue_) {
    for (size_t i = request->next; i < request->inputs.size(); ++i) {
      ++sequences;
      tokens += static_cast<int64_t>(request->inputs[i].ids.size());
      if (sequences >= options_.max_sequences || tokens >= options_.max_tokens) return true;
    }
  }
  return false;
}

std::vector<SequenceBatcher::Slot> SequenceBatcher::TakeBatch(std::vector<Refusal>* refused) {
  // Requests past their queue deadline are refused now, not when their turn would come.
  const Clock::time_point now = Clock::now();
  for (auto it = queue_.begin(); it != queue_.end();) {
    Request& request = **it;
    if (request.next == 0 && !request.finished && now >= request.ctx.start_by) {
      refused->push_back({*it, request.ctx.CheckStart()});
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  std::vector<Slot> slots;
  int64_t tokens = 0;
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (static_cast<int>(slots.size()) >= options_.max_sequences) break;
    Request& request = **it;
    if (request.finished) {  // failed by an earlier batch: nothing more to run
      it = queue_.erase(it);
      continue;
    }
    // Checked before each batch that would include this request's inputs; before its first,
    // the queue deadline too.
    if (Status status = request.next == 0 ? request.ctx.CheckStart() : request.ctx.Check();
        !status.ok()) {
      refused->push_back({*it, std::move(status)});
      it = queue_.erase(it);
      continue;
    }
    while (request.next < request.inputs.size() &&
           static_cast<int>(slots.size()) < options_.max_sequences) {
      const auto size = static_cast<int64_t>(request.inputs[request.next].ids.size());
      // A sequence longer than the token budget runs alone rather than never.
      if (tokens + size > options_.max_tokens && !slots.empty()) break;
      tokens += size;
      slots.push_back({*it, request.next++});
    }
    if (request.next == request.inputs.size()) {
      it = queue_.erase(it);  // fully taken: leaves the queue, frees a place for a new request
    } else {
      ++it;  // a later, shorter input of another request may still fit
    }
  }
  return slots;
}

void SequenceBatcher::Loop() {
  while (true) {
    std::vector<Slot> slots;
    std::vector<Refusal> refused;
    {
      MutexLock lock(mu_);
      worker_waiting_ = true;
      while (!stop_ && queue_.empty()) cv_.wait(lock.native());
      if (stop_) break;
      // Gather: a batch that is not full waits a little for more requests to join it, but only
      // while fewer requests are queued than were in flight together since the last batch was
      // taken. A lone caller (or clients that take turns) then never waits, and clients that
      // come back together after their answers are gathered into one batch again.
      const int expected = peak_active_;
      const auto gather_until = Clock::now() + std::chrono::microseconds(options_.batch_wait_us);
      while (!stop_ && !BatchFull() && static_cast<int>(queue_.size()) < expected &&
             Clock::now() < gather_until)
        cv_.wait_until(lock.native(), gather_until);
      worker_waiting_ = false;
      if (stop_) break;
      slots = TakeBatch(&refused);
      // The requests now in flight are where the next peak starts.
      peak_active_ = active_.load();
    }
    for (Refusal& r : refused) r.request->Finish(std::move(r.status));
    if (!slots.empty()) RunBatch(slots);
  }
  alive_ = false;
  std::deque<std::shared_ptr<Request>> left;
  {
    MutexLock lock(mu_);
    left.swap(queue_);
  }
  for (auto& request : left) request->Finish(UnavailableError("model was unloaded"));
}

void SequenceBatcher::RunBatch(const std::vector<Slot>& slots) {
  Batch batch;
  batch.reserve(slots.size());
  int64_t tokens = 0;
  for (const Slot& slot : slots) {
    batch.push_back(&slot.request->inputs[slot.input]);
    tokens += static_cast<int64_t>(batch.back()->ids.size());
  }
  Result<Outputs> outputs = engine_(batch);
  runs_.fetch_add(1);
  sequences_.fetch_add(static_cast<int64_t>(slots.size()));
  tokens_.fetch_add(tokens);
  if (outputs && outputs->size() != slots.size())
    outputs = InternalError("the engine returned " + std::to_string(outputs->size()) +
                            " outputs for " + std::to_string(slots.size()) + " sequences");
  if (!outputs) {
    Log("batch")->error("{}: a batch of {} sequences failed: {}", options_.name, slots.size(),
                        outputs.status().message());
  }
  for (size_t s = 0; s < slots.size(); ++s) {
    Request& request = *slots[s].request;
    if (request.finished) continue;
    if (!outputs) {
      request.Finish(outputs.status());
      continue;
    }
    request.outputs[slots[s].input] = std::move((*outputs)[s]);
    if (--request.remaining == 0) request.Finish(std::move(request.outputs));
  }
}

}  // namespace modelrt
