// The configuration file and its catalog of alias specs. JSON and YAML share one schema:
//
//   server:    { host: 127.0.0.1, port: 8080, api_keys_env: MODELRT_API_KEYS }
//   pool:      { memory_budget_mb: 4096, max_loaded: 8, idle_ttl_s: 600 }
//   providers: [ { id: local, type: llama, options: { threads: 2 } } ]
//   models:    [ { alias: chat, task: generate, provider: local, model: models/x.gguf } ]
//   profiles:  [ { name: storyteller, model: chat, system: "...", params: {temperature: 0.8} } ]
//   reload:    { watch_models: false, watch_config: false, history_size: 32, log_size: 256 }
//
// A file may also be a bare JSON/YAML array of alias specs (then the `local` llama provider is
// implied). Errors name the file, the key path and the reason:
//   "cat.yaml: models[1].warmup: must be one of lazy, eager, background (got 'soon')".
//
//   MODELRT_ASSIGN_OR_RETURN(Config config, LoadConfigFile("modelrt.yaml"));
//
// Thread-safety: free functions over values; safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "modelrt/model.h"
#include "modelrt/options.h"
#include "modelrt/status.h"

namespace modelrt {

enum class WarmupPolicy { kLazy, kEager, kBackground };
std::string_view ToString(WarmupPolicy policy);

struct RetryPolicy {
  int max_attempts = 1;  // total tries, 1 = no retry
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{2000};
};

// One of the places an alias's calls may go (ModelSpec::deployments).
struct Deployment {
  std::string provider;  // provider id
  std::string model;     // the upstream's model name (or a file, for a local provider)
  int weight = 1;        // its share of the calls against the others' (1-1000)
  bool operator==(const Deployment&) const = default;
};

struct ModelSpec {
  std::string alias;
  Task task = Task::kEmbed;
  std::string provider;  // provider id
  std::string model;     // file path (local) or upstream model name (remote)
  Options options;       // provider-specific; validated by the provider
  WarmupPolicy warmup = WarmupPolicy::kLazy;
  bool required = false;  // a failed eager load fails startup
  std::chrono::milliseconds timeout{0};  // per call; 0 = none
  std::chrono::milliseconds load_timeout{std::chrono::seconds(600)};
  RetryPolicy retry;
  bool pinned = false;  // never evicted from the pool
  // Seconds an idle engine stays loaded: nullopt = the pool's TTL, 0 = unload after use,
  // -1 = never.
  std::optional<int64_t> keep_alive_s;
  // Aliases of the same task tried in order when this one fails retryably (unavailable, its
  // upstream's breaker open, its queue full, an upstream 5xx): a busy local model can spill to a
  // remote one. A stream falls back only until its first piece was sent. Resolved when a call
  // fails; one that is gone or of another task is skipped. Only this alias's own list is used.
  std::vector<std::string> fallbacks;
  // Several deployments of the same model behind this alias (Azure regions, keys with their own
  // rate limits, replicas of a vLLM server): each call goes to the healthy one with the fewest
  // calls in flight for its weight, and on to the next when one fails retryably before
  // answering. When set, `provider` and `model` are the first deployment's.
  std::vector<Deployment> deployments;
  // With a `store://` model: pull the bundle into the model store on first load when it is not
  // there yet (otherwise a missing bundle fails the load with NotFound, naming `modelrt pull`).
  bool pull = false;
  // Where the spec came from, for error messages: "cat.yaml: models[2]".
  std::string origin;

  // Whether calls of this alias may go to provider `id` (its own, or a deployment's).
  bool UsesProvider(std::string_view id) const {
    if (provider == id) return true;
    for (const Deployment& d : deployments) {
      if (d.provider == id) return true;
    }
    return false;
  }
};

struct ProviderConfig {
  std::string id;
  std::string type;  // llama | openai | ...
  std::string base_url;
  std::string api_key_env;  // name of the env var holding the key; never the key itself
  std::string api_key_file;  // or a file holding it (a mounted secret); never the key itself
  Options options;
  std::string origin;
};

struct ProfileSpec {
  std::string name;
  std::string model;   // alias it points at
  std::string system;  // system prompt prepended to chats
  Options params;      // default sampling parameters
  std::string origin;
};

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string api_keys_env = "MODELRT_API_KEYS";  // comma-separated keys
  std::string api_keys_file;                      // one key per line
  std::string admin_key_env = "MODELRT_ADMIN_KEY";
  std::string admin_key_file;
  int threads = 0;                      // HTTP threads; 0 = hardware concurrency
  int64_t max_body_bytes = 8 << 20;     // 413 past this
  int max_batch_inputs = 2048;          // inputs per embeddings request
  int max_rerank_documents = 1000;
  int max_tokens_limit = 4096;          // ceiling for max_tokens in a request
  int max_choices = 8;                  // ceiling for n (samples of one completion request)
  int queue_capacity = 256;             // requests per model, queued or running; 429 past this
  int64_t queue_max_tokens = 65536;     // estimated tokens per model, queued or running; 429 past
  // An API request whose body is at most this many bytes is parsed and handed to its engine on
  // the I/O thread that read it, saving a hand-off to the dispatch threads (about 20-50 µs on a
  // busy machine); larger bodies, whose JSON takes longer to read, still go there. 0 = never.
  int64_t inline_body_bytes = 16 << 10;
  int64_t max_queue_wait_ms = 10000;    // 503 when a request would wait longer to start; 0 = none
  int executor_idle_timeout_s = 30;     // an idle dispatch or admin thread exits after this
  int drain_grace_s = 30;               // SIGTERM waits this long for in-flight requests
  // Slow and idle clients: each connection costs a socket and a little memory only, and these
  // bound how long one may hold them without making progress.
  int idle_timeout_s = 60;    // a keep-alive connection's wait for its next request
  int header_timeout_s = 10;  // a request's header section, from its first byte
  int body_timeout_s = 60;    // a request's body, once its header is read
  int write_timeout_s = 60;   // one write: a client that stops reading is dropped after it
  std::string data_dir;                 // "" = $MODELRT_DATA_DIR or ~/.local/share/modelrt

  bool operator==(const ServerConfig&) const = default;
};

struct PoolConfig {
  int64_t memory_budget_mb = 4096;
  int max_loaded = 8;
  int64_t idle_ttl_s = 600;
  int64_t health_check_interval_s = 30;
};

// The `reload` section: hot-reload bookkeeping and what `modelrt serve` watches.
struct ReloadConfig {
  bool watch_models = false;  // reload an alias when its model file is replaced (inotify)
  bool watch_config = false;  // re-apply the config file when it changes (as SIGHUP does)
  int64_t history_size = 32;  // engine versions kept per alias
  int64_t log_size = 256;     // reload attempts kept
  int64_t debounce_ms = 500;  // quiet time after a file change before acting on it

  bool operator==(const ReloadConfig&) const = default;
};

// The `jobs` section: the job runner (download, warmup, inference, external commands).
struct JobsConfig {
  // Where jobs are kept: "" (SQLite in the data directory, this process alone) or a PostgreSQL
  // URL that replicas share (one queue: each job runs on one replica, under a lease). The URL
  // carries no password: libpq reads PGPASSWORD or a pgpass file; or the whole URL comes from
  // the variable named by store_env.
  std::string store;
  std::string store_env;
  // With a shared store: a folder every replica mounts (job folders, the Files API's files), so
  // a job another replica takes over finds its bytes. "" = the data directory.
  std::string shared_dir;
  int64_t lease_s = 15;          // a claimed job's lease, renewed every third of it
  int workers = 2;               // jobs running at once
  int64_t keep_finished = 1000;  // finished jobs kept (oldest dropped first)
  int64_t keep_days = 7;         // finished jobs older than this are dropped
  // Programs a model-external-command job may run (absolute paths); empty = none may.
  std::vector<std::string> allowed_programs;
  // Environment variables passed on to external commands (PATH, HOME, LANG always are).
  std::vector<std::string> env_allowlist;
  int64_t max_log_bytes = 1 << 20;      // per stream of an external command
  int64_t command_timeout_s = 3600;     // an external command's default timeout
  // Batches (/v1/batches, modelrt batch): an input file's size and line count, and the requests
  // one batch keeps in flight (one only while interactive requests use the same model: batches
  // yield to them).
  int64_t batch_max_file_bytes = int64_t{200} << 20;
  int64_t batch_max_lines = 50000;
  int batch_in_flight = 32;

  bool operator==(const JobsConfig&) const = default;
};

// The `registry` section: where run-time registry changes are journaled. "" = a file in the data
// directory; a PostgreSQL URL (as jobs.store) = a journal replicas share, each following the
// others' changes (LISTEN/NOTIFY).
struct RegistryStoreConfig {
  std::string store;
  std::string store_env;

  bool operator==(const RegistryStoreConfig&) const = default;
};

// The `store` section: where bundles live and how they are downloaded.
struct StoreConfig {
  std::string dir;          // "" = <data dir>/store
  std::string hf_endpoint;  // "" = $MODELRT_HF_ENDPOINT, $HF_ENDPOINT, https://huggingface.co
  int64_t parallel_threshold_mb = 64;  // files at least this big download in parallel ranges
  int parallel_parts = 4;
  int64_t stall_timeout_s = 30;  // a transfer with no bytes for this long is retried
  int max_attempts = 5;          // per file (or range), connection errors and 429/5xx

  bool operator==(const StoreConfig&) const = default;
};

struct Config {
  ServerConfig server;
  PoolConfig pool;
  ReloadConfig reload;
  JobsConfig jobs;
  StoreConfig store;
  RegistryStoreConfig registry;
  std::vector<ProviderConfig> providers;
  std::vector<ModelSpec> models;
  std::vector<ProfileSpec> profiles;
  std::string source;  // file name, or "<embedded>"
};

enum class ConfigFormat { kAuto, kJson, kYaml };

// Parses and validates a config. `source` names it in errors. kAuto: JSON when the text starts
// with '{' or '[', YAML otherwise. Relative model paths stay as written.
Result<Config> ParseConfig(std::string_view text, std::string_view source,
                           ConfigFormat format = ConfigFormat::kAuto);

// Reads `path` (format by extension: .json, .yaml/.yml, else auto) and parses it. Relative model
// paths are resolved against the file's directory.
Result<Config> LoadConfigFile(const std::string& path);

// Parses one alias spec (JSON text, as an entry of a `models` list) — for registering at run
// time. `origin` starts every error ("POST /admin/models: task: must be one of ...") and becomes
// spec.origin. The provider is not resolved here: spec.provider is empty when the JSON has none,
// and the caller picks the default and checks that it exists.
Result<ModelSpec> ParseModelSpec(std::string_view json_text, std::string_view origin);

// Parses one provider (JSON text, as an entry of a `providers` list) — for registering at run
// time. `origin` starts every error and becomes provider.origin. Inline secrets are rejected.
Result<ProviderConfig> ParseProviderConfig(std::string_view json_text, std::string_view origin);

// The embedded demo catalog (stories260K chat, generated embed and rerank models), with model
// paths under `models_dir`.
Config DefaultConfig(const std::string& models_dir);

// The demo catalog ready to run: DefaultConfig over <data dir>/models, its model files written on
// first use (the data dir is server.data_dir, else $MODELRT_DATA_DIR, else
// ~/.local/share/modelrt). What `modelrt` runs without a config file. Errors: the file writes'.
// Thread-safety: safe to call concurrently (files are written atomically).
Result<Config> DemoConfig(const ServerConfig& server = ServerConfig{});

}  // namespace modelrt
