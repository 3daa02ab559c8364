// modelrt-bench: library-level throughput of the llama provider, one JSON line per run, for
// scripts/bench to print next to llama-bench, llama-batched-bench and llama-embedding on the same
// model and threads.
//
//   modelrt-bench generate --model m.gguf --threads 2 --prompt-tokens 128 --tokens 128 --reps 5
//   modelrt-bench generate --model m.gguf --parallel 8 --streams 8 --tokens 128
//   modelrt-bench embed --model e.gguf --threads 2 --texts 64 --reps 5
//   modelrt-bench embed-latency --model e.gguf --threads 1 --parallel 32 --duration 5
//
// generate: every stream sends a prompt of exactly --prompt-tokens tokens (built with the
// model's own tokenizer) and greedy-decodes exactly --tokens tokens (ignore_eos), like
// llama-bench's pp/tg (which sample nothing: greedy top-1 is the cheapest sampler we have;
// --temperature T samples with the default chain instead, unseeded).
// pp_tps = prompt tokens / time to the first piece, tg_tps = (tokens - 1) / time from the
// first piece to the end (both for stream 0, so at depth --prompt-tokens), aggregate_tps =
// completion tokens of all streams / wall time. --verbose prints each rep on stderr.
//
// embed-latency times single small Embed calls (one short text) back to back, the same call a
// lone HTTP client makes through `modelrt serve`, so scripts/bench-server can subtract it from
// the server's latency and report the server's own overhead: {"p50_us":..,"p99_us":..}.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "catalog/options_json.h"
#include "modelrt/runtime.h"
#include "providers/llama/llama_common.h"

using namespace modelrt;
using Seconds = std::chrono::duration<double>;

namespace {

struct Args {
  std::string model;
  int threads = 2;
  int reps = 5;
  int parallel = 1;
  // generate
  int tokens = 128;
  int prompt_tokens = 128;
  int streams = 1;
  float temperature = 0;  // 0 = greedy; above 0: the default sampler chain, unseeded
  bool no_stream = false;  // no TokenCallback: only aggregate_tps is measured
  bool verbose = false;
  // embed
  int texts = 64;
  int words = 24;
  // embed-latency
  int ctx = 0;                // per-sequence context (0 = the model's)
  int batch = 0;              // tokens per decode (0 = the provider's default)
  int batch_wait_us = -1;     // -1 = the provider's default
  int iterations = 1000000;   // stop after this many calls...
  double duration_s = 5;      // ...or after this long, whichever comes first
  std::string text = "hello world";
};

Result<std::unique_ptr<ModelRuntime>> MakeRuntime(const Args& a, Task task) {
  Config config;
  config.providers.push_back(
      {.id = "local", .type = "llama", .options = MakeOptions({{"threads", a.threads}})});
  ModelSpec spec;
  spec.alias = "bench";
  spec.task = task;
  spec.provider = "local";
  spec.model = a.model;
  spec.options = MakeOptions({{"parallel", a.parallel}});
  if (task == Task::kGenerate)
    spec.options = WithOption(spec.options, "ctx", a.prompt_tokens + a.tokens + 8);
  if (task == Task::kEmbed && a.ctx > 0) spec.options = WithOption(spec.options, "ctx", a.ctx);
  if (task == Task::kEmbed && a.batch > 0)
    spec.options = WithOption(spec.options, "batch", a.batch);
  if (task == Task::kEmbed && a.batch_wait_us >= 0)
    spec.options = WithOption(spec.options, "batch_wait_us", a.batch_wait_us);
  spec.warmup = WarmupPolicy::kEager;
  spec.required = true;
  config.models.push_back(spec);
  return ModelRuntime::Builder().SetConfig(config).Build();
}

// A prompt of roughly `n` tokens: repeated common words (one token each in most vocabularies).
std::string Words(int n, int salt) {
  static const char* kWords[] = {"the", "cat", "sat", "on", "a", "mat", "and", "then", "ran",
                                 "to", "see", "big", "red", "dog", "in", "park"};
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (i) out += ' ';
    out += kWords[(i * 7 + salt) % 16];
  }
  return out;
}

// A prompt of exactly `n` tokens (BOS included) for the model's tokenizer, or as close as the
// vocabulary allows: words while they fit, then one-token fillers.
std::string ExactPrompt(const llama_vocab* vocab, int n, int salt) {
  auto count = [&](const std::string& text) {
    return static_cast<int>(modelrt::llama::Tokenize(vocab, text, true, false).size());
  };
  std::string text;
  for (int i = 0;; ++i) {
    std::string next = Words(i + 1, salt);
    if (count(next) > n) break;
    text = std::move(next);
  }
  static const char* kFillers[] = {" a", " the", " and", ".", "a", "e", " "};
  for (int have = count(text); have < n;) {
    bool grew = false;
    for (const char* filler : kFillers) {
      if (count(text + filler) == have + 1) {
        text += filler;
        ++have;
        grew = true;
        break;
      }
    }
    if (!grew) break;
  }
  return text;
}

int RunGenerate(Args a) {
  // The prompts, from a vocabulary-only load of the model.
  modelrt::llama::EnsureLlamaBackend();
  llama_model_params vocab_params = llama_model_default_params();
  vocab_params.vocab_only = true;
  llama_model* vocab_model = llama_model_load_from_file(a.model.c_str(), vocab_params);
  if (!vocab_model) { std::fprintf(stderr, "cannot load %s\n", a.model.c_str()); return 1; }
  // One prompt per stream, the same in every rep (the engine caches no prompts between calls).
  std::vector<std::string> prompts(a.streams);
  for (int s = 0; s < a.streams; ++s)
    prompts[s] = ExactPrompt(llama_model_get_vocab(vocab_model), a.prompt_tokens, s);
  llama_model_free(vocab_model);

  auto runtime = MakeRuntime(a, Task::kGenerate);
  if (!runtime) { std::fprintf(stderr, "%s\n", runtime.error().ToString().c_str()); return 1; }
  auto handle = (*runtime)->Generator("bench");
  double pp_tps_sum = 0, tg_tps_sum = 0, agg_sum = 0;
  double pp_tps_best = 0, tg_tps_best = 0, agg_best = 0;
  int64_t prompt_tokens = 0;
  // Rep -1 warms up (llama.cpp sizes its compute buffers for the first prompt-sized batch), as
  // llama-bench does before timing.
  for (int rep = -1; rep < a.reps; ++rep) {
    std::vector<std::thread> threads;
    std::vector<double> ttft(a.streams), decode_s(a.streams);
    std::vector<int64_t> produced(a.streams), prompt(a.streams);
    auto start = std::chrono::steady_clock::now();
    for (int s = 0; s < a.streams; ++s) {
      threads.emplace_back([&, s] {
        GenerateRequest req;
        req.prompt = prompts[s];
        req.max_tokens = a.tokens;
        req.ignore_eos = true;
        req.sampling.temperature = a.temperature;
        auto t0 = std::chrono::steady_clock::now();
        std::chrono::steady_clock::time_point first;
        bool got_first = false;
        TokenCallback on_piece = [&](std::string_view) {
          if (!got_first) { first = std::chrono::steady_clock::now(); got_first = true; }
          return true;
        };
        auto result = handle->Generate(req, a.no_stream ? TokenCallback() : on_piece);
        auto t1 = std::chrono::steady_clock::now();
        if (!got_first) first = t1;
        if (!result) { std::fprintf(stderr, "%s\n", result.error().ToString().c_str()); std::exit(1); }
        if (result->completion_tokens != a.tokens) {
          std::fprintf(stderr, "stream %d produced %lld tokens, not %d\n", s,
                       static_cast<long long>(result->completion_tokens), a.tokens);
          std::exit(1);
        }
        ttft[s] = Seconds(first - t0).count();
        decode_s[s] = Seconds(t1 - first).count();
        produced[s] = result->completion_tokens;
        prompt[s] = result->prompt_tokens;
      });
    }
    for (auto& t : threads) t.join();
    double wall = Seconds(std::chrono::steady_clock::now() - start).count();
    if (a.verbose)
      std::fprintf(stderr, "rep %d: wall %.4f s, stream 0: first piece %.4f s, then %.4f s\n", rep,
                   wall, ttft[0], decode_s[0]);
    if (rep < 0) continue;
    int64_t total = 0;
    for (int s = 0; s < a.streams; ++s) total += produced[s];
    prompt_tokens = prompt[0];
    const double pp_tps = prompt[0] / ttft[0], tg_tps = (produced[0] - 1) / decode_s[0];
    pp_tps_sum += pp_tps;
    tg_tps_sum += tg_tps;
    agg_sum += total / wall;
    pp_tps_best = std::max(pp_tps_best, pp_tps);
    tg_tps_best = std::max(tg_tps_best, tg_tps);
    agg_best = std::max(agg_best, total / wall);
  }
  // Means, and the best rep (on a shared machine, interference only ever slows a rep down).
  nlohmann::json out = {{"task", "generate"}, {"threads", a.threads}, {"streams", a.streams},
                        {"prompt_tokens", prompt_tokens}, {"tokens", a.tokens},
                        {"pp_tps", pp_tps_sum / a.reps}, {"tg_tps", tg_tps_sum / a.reps},
                        {"aggregate_tps", agg_sum / a.reps}, {"pp_tps_best", pp_tps_best},
                        {"tg_tps_best", tg_tps_best}, {"aggregate_tps_best", agg_best}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

int RunEmbed(const Args& a) {
  auto runtime = MakeRuntime(a, Task::kEmbed);
  if (!runtime) { std::fprintf(stderr, "%s\n", runtime.error().ToString().c_str()); return 1; }
  auto handle = (*runtime)->Embedding("bench");
  EmbedRequest req;
  for (int i = 0; i < a.texts; ++i) req.inputs.push_back({.text = Words(a.words, i)});
  double best = 0, sum = 0;
  int64_t tokens = 0;
  for (int rep = 0; rep < a.reps; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    auto result = handle->Embed(req);
    double s = Seconds(std::chrono::steady_clock::now() - t0).count();
    if (!result) { std::fprintf(stderr, "%s\n", result.error().ToString().c_str()); return 1; }
    tokens = result->prompt_tokens;
    sum += tokens / s;
    best = std::max(best, tokens / s);
  }
  nlohmann::json out = {{"task", "embed"}, {"threads", a.threads}, {"texts", a.texts},
                        {"tokens", tokens}, {"tps", sum / a.reps}, {"best_tps", best}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

// CPU time of the whole process (every thread, the engine's included).
double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Percentile by nearest rank over sorted samples (wrk reports the same way).
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

int RunEmbedLatency(const Args& a) {
  auto runtime = MakeRuntime(a, Task::kEmbed);
  if (!runtime) { std::fprintf(stderr, "%s\n", runtime.error().ToString().c_str()); return 1; }
  auto handle = (*runtime)->Embedding("bench");
  if (!handle) { std::fprintf(stderr, "%s\n", handle.error().ToString().c_str()); return 1; }
  EmbedRequest req;
  req.inputs.push_back({.text = a.text});
  // A few untimed calls first, as the server's wrk run gets its connection set up untimed.
  for (int i = 0; i < 3; ++i) {
    auto result = handle->Embed(req);
    if (!result) { std::fprintf(stderr, "%s\n", result.error().ToString().c_str()); return 1; }
  }
  std::vector<double> us;
  const double cpu_start = CpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  const auto until = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                 Seconds(a.duration_s));
  while (static_cast<int>(us.size()) < a.iterations &&
         (us.size() < 2 || std::chrono::steady_clock::now() < until)) {
    auto t0 = std::chrono::steady_clock::now();
    auto result = handle->Embed(req);
    auto t1 = std::chrono::steady_clock::now();
    if (!result) { std::fprintf(stderr, "%s\n", result.error().ToString().c_str()); return 1; }
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  double wall = Seconds(std::chrono::steady_clock::now() - start).count();
  const double cpu = CpuSeconds() - cpu_start;
  double sum = 0;
  for (double v : us) sum += v;
  std::sort(us.begin(), us.end());
  nlohmann::json out = {{"task", "embed-latency"}, {"threads", a.threads},
                        {"parallel", a.parallel}, {"calls", us.size()},
                        {"calls_per_s", static_cast<double>(us.size()) / wall},
                        {"cpu_us_per_call", cpu * 1e6 / static_cast<double>(us.size())},
                        {"mean_us", sum / static_cast<double>(us.size())},
                        {"p50_us", Percentile(us, 50)}, {"p90_us", Percentile(us, 90)},
                        {"p99_us", Percentile(us, 99)}, {"max_us", us.back()}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"modelrt library benchmarks"};
  app.require_subcommand(1);
  Args a;
  auto common = [&](CLI::App* c) {
    c->add_option("--model", a.model)->required();
    c->add_option("--threads", a.threads);
    c->add_option("--reps", a.reps);
    c->add_option("--parallel", a.parallel);
  };
  auto* gen = app.add_subcommand("generate");
  common(gen);
  gen->add_option("--tokens", a.tokens);
  gen->add_option("--prompt-tokens", a.prompt_tokens);
  gen->add_option("--streams", a.streams);
  gen->add_option("--temperature", a.temperature);
  gen->add_flag("--no-stream", a.no_stream);
  gen->add_flag("--verbose", a.verbose);
  auto* emb = app.add_subcommand("embed");
  common(emb);
  emb->add_option("--texts", a.texts);
  emb->add_option("--words", a.words);
  auto* lat = app.add_subcommand("embed-latency", "p50/p99 of single one-text Embed calls");
  common(lat);
  lat->add_option("--ctx", a.ctx, "context per sequence (0 = the model's)");
  lat->add_option("--batch", a.batch, "tokens per decode (0 = provider's default)");
  lat->add_option("--batch-wait-us", a.batch_wait_us, "options.batch_wait_us (default: provider's)");
  lat->add_option("--iterations", a.iterations, "timed calls at most")->check(CLI::Range(1, 1 << 30));
  lat->add_option("--duration", a.duration_s, "seconds of timed calls at most");
  lat->add_option("--text", a.text, "the text embedded by every call");
  CLI11_PARSE(app, argc, argv);
  if (a.parallel < a.streams) a.parallel = a.streams;
  if (gen->parsed()) return RunGenerate(a);
  if (lat->parsed()) return RunEmbedLatency(a);
  return RunEmbed(a);
}
