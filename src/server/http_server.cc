#include "server/http_server.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "core/cpu_budget.h"
#include "core/logging.h"
#include "core/postgres_url.h"
#include "modelrt/model_names.h"
#include "server/admission_control.h"
#include "server/api_service.h"
#include "server/blocking_executor.h"
#include "server/http_session.h"
#include "server/listener.h"
#include "server/server_metrics.h"
#include "server/session_host.h"
#include "jobs/file_store.h"
#include "jobs/job_kinds.h"
#include "jobs/job_runner.h"
#include "server/in_process_gateway.h"
#include "store/catalog_models.h"

namespace modelrt::server {

namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

namespace {

// Cancelled requests end within a decode step or two; this bounds the wait after the grace.
constexpr std::chrono::seconds kCancelWait{5};
// Admin calls that block at once (loads and reloads of different models run side by side).
constexpr size_t kAdminThreads = 16;

Result<tcp::endpoint> ResolveEndpoint(net::io_context& ioc, const std::string& host, int port) {
  if (port < 0 || port > 65535) {
    return InvalidArgumentError("server.port must be between 0 and 65535 (got " +
                                std::to_string(port) + ")");
  }
  boost::system::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (!ec) return tcp::endpoint(address, static_cast<uint16_t>(port));
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec || results.empty()) {
    return InvalidArgumentError("server.host: cannot resolve '" + host + "': " + ec.message());
  }
  return results.begin()->endpoint();
}

AdmissionControl::Options AdmissionOptionsOf(const ServerConfig& sc) {
  AdmissionControl::Options options;
  options.max_requests = sc.queue_capacity;
  options.max_work = sc.queue_max_tokens;
  options.max_wait = std::chrono::milliseconds(sc.max_queue_wait_ms);
  return options;
}

}  // namespace

struct HttpServer::Impl {
  ModelRuntime& runtime;
  control::ControlPlane* control;  // null: no admin API
  Config config;
  ServerMetrics server_metrics;
  AdmissionControl admission;
  ModelNames resolver;
  std::unique_ptr<ApiService> api;
  // Jobs, batches and files: only with a data directory (server.data_dir; `modelrt serve`
  // always has one). The runner is stopped first on Shutdown: its batches call into `api`.
  std::unique_ptr<jobs::FileStore> files;
  std::unique_ptr<InProcessGateway> gateway;
  std::unique_ptr<jobs::JobRunner> jobs;
  std::unique_ptr<BlockingExecutor> executor;
  std::unique_ptr<BlockingExecutor> dispatch;  // handlers that answer later
  std::shared_ptr<SessionHost> host;
  net::io_context ioc;
  std::unique_ptr<net::executor_work_guard<net::io_context::executor_type>> work;
  std::shared_ptr<Listener> listener;
  std::vector<std::thread> io_threads;
  tcp::endpoint endpoint;
  std::atomic<bool> draining{false};  // HandlerDeps::draining: /ready answers 503
  bool stopped = false;

  Impl(ModelRuntime& rt, const Config& cfg)
      : runtime(rt),
        control(nullptr),
        config(cfg),
        server_metrics(rt.metrics()),
        admission(AdmissionOptionsOf(cfg.server), rt.metrics()),
        resolver(rt, cfg.profiles) {}
  Impl(control::ControlPlane& ctl, const Config& cfg)
      : runtime(ctl.runtime()),
        control(&ctl),
        config(cfg),
        server_metrics(runtime.metrics()),
        admission(AdmissionOptionsOf(cfg.server), runtime.metrics()),
        resolver(runtime, ctl.registry()) {}
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Shutdown(std::chrono::milliseconds(0)); }

Result<std::unique_ptr<HttpServer>> HttpServer::Create(ModelRuntime& runtime,
                                                       const Config& config) {
  return Start(std::make_unique<Impl>(runtime, config));
}

Result<std::unique_ptr<HttpServer>> HttpServer::Create(control::ControlPlane& control,
                                                       const Config& config) {
  return Start(std::make_unique<Impl>(control, config));
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(std::unique_ptr<Impl> impl) {
  ModelRuntime& runtime = impl->runtime;
  const ServerConfig& sc = impl->config.server;
  MODELRT_ASSIGN_OR_RETURN(ApiKeyAuth auth, ApiKeyAuth::FromConfig(sc));
  AdminKeyAuth admin;
  if (impl->control != nullptr) {
    MODELRT_ASSIGN_OR_RETURN(admin, AdminKeyAuth::FromConfig(sc));
  }
  const bool admin_enabled = admin.enabled();
  MODELRT_ASSIGN_OR_RETURN(impl->endpoint, ResolveEndpoint(impl->ioc, sc.host, sc.port));

  HandlerDeps deps{&runtime, &impl->config.server, &impl->resolver, &impl->admission,
                   impl->control};
  deps.draining = &impl->draining;
  if (Result<std::shared_ptr<store::ModelStore>> model_store =
          store::ModelStore::Open(store::StoreOptionsFor(impl->config));
      model_store.ok()) {
    deps.store = *std::move(model_store);
  }
  if (!sc.data_dir.empty()) {
    const JobsConfig& jc = impl->config.jobs;
    MODELRT_ASSIGN_OR_RETURN(std::string jobs_url,
                             ResolveStoreUrl("jobs", jc.store, jc.store_env));
    // Replicas sharing a queue share the folders its jobs use too (a job taken over by another
    // replica finds its bytes and its batch's files there).
    const std::string jobs_root = jc.shared_dir.empty() ? sc.data_dir : jc.shared_dir;
    MODELRT_ASSIGN_OR_RETURN(impl->files,
                             jobs::FileStore::Open({.dir = jobs_root + "/files",
                                                    .max_file_bytes = jc.batch_max_file_bytes}));
    impl->gateway = std::make_unique<InProcessGateway>(impl->admission, impl->resolver);
    jobs::JobDeps job_deps{.runtime = &runtime,
                           .store = deps.store,
                           .gateway = impl->gateway.get(),
                           .files = impl->files.get(),
                           .config = jc,
                           .hub_endpoint = store::StoreOptionsFor(impl->config).hub.endpoint};
    MODELRT_ASSIGN_OR_RETURN(impl->jobs,
                             jobs::JobRunner::Open({.dir = jobs_root + "/jobs",
                                                    .workers = jc.workers,
                                                    .keep_finished = jc.keep_finished,
                                                    .keep_days = jc.keep_days,
                                                    .store_url = jobs_url,
                                                    .lease_ms = jc.lease_s * 1000},
                                                   jobs::StandardJobKinds(job_deps)));
    deps.jobs = impl->jobs.get();
    deps.files = impl->files.get();
  }
  int64_t created = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  size_t key_count = auth.key_count();
  impl->api = std::make_unique<ApiService>(deps, &impl->server_metrics, std::move(auth),
                                           std::move(admin), created);
  // The admin routes that wait for models (loads, reloads, registry writes). No API request
  // holds one of these threads: every API route answers inline or later.
  impl->executor = std::make_unique<BlockingExecutor>(
      kAdminThreads, std::chrono::seconds(sc.executor_idle_timeout_s));
  // Handlers that answer later only parse, admit and hand over (a model that must load is
  // waited for on the runtime's own threads): a few threads keep up with any burst.
  impl->dispatch = std::make_unique<BlockingExecutor>(
      std::max<size_t>(4, 2 * static_cast<size_t>(CpuBudget::MachineCores())),
      std::chrono::seconds(sc.executor_idle_timeout_s));

  SessionOptions options;
  options.max_body_bytes = sc.max_body_bytes;
  options.max_queue_wait = std::chrono::milliseconds(sc.max_queue_wait_ms);
  options.inline_body_bytes = sc.inline_body_bytes;
  options.idle_timeout = std::chrono::seconds(sc.idle_timeout_s);
  options.header_timeout = std::chrono::seconds(sc.header_timeout_s);
  options.read_timeout = std::chrono::seconds(sc.body_timeout_s);
  options.write_timeout = std::chrono::seconds(sc.write_timeout_s);
  impl->host = std::make_shared<SessionHost>(*impl->api, *impl->executor, *impl->dispatch,
                                             impl->server_metrics,
                                             options);
  MODELRT_ASSIGN_OR_RETURN(impl->listener,
                           Listener::Create(impl->ioc, impl->endpoint, impl->host));
  impl->endpoint = tcp::endpoint(impl->endpoint.address(),
                                 static_cast<uint16_t>(impl->listener->port()));

  if (key_count == 0 && !impl->endpoint.address().is_loopback()) {
    Log("http")->warn("no API keys configured (${} / server.api_keys_file) and bound to {}: the "
                      "API is open to the network",
                      sc.api_keys_env, impl->endpoint.address().to_string());
  }
  impl->work = std::make_unique<net::executor_work_guard<net::io_context::executor_type>>(
      impl->ioc.get_executor());
  impl->listener->Start();
  int threads = sc.threads > 0 ? sc.threads
                               : static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  for (int i = 0; i < threads; ++i) {
    impl->io_threads.emplace_back([ioc = &impl->ioc] { ioc->run(); });
  }
  if (impl->jobs) {
    impl->gateway->Attach(impl->api.get());
    impl->jobs->Start();  // jobs a previous process left queued run from here on
  }
  const bool has_admin = impl->control != nullptr;
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(impl)));
  Log("http")->info("listening on http://{} ({} I/O threads, {} API key(s), admin API {})",
                    server->address(), threads, key_count,
                    !has_admin ? "absent" : admin_enabled ? "enabled" : "disabled (no admin key)");
  return server;
}

int HttpServer::port() const { return impl_->endpoint.port(); }

std::string HttpServer::address() const {
  const auto& a = impl_->endpoint.address();
  std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  return host + ":" + std::to_string(impl_->endpoint.port());
}

int64_t HttpServer::in_flight() const { return impl_->host->in_flight(); }

void HttpServer::Shutdown(std::chrono::milliseconds grace) {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  auto log = Log("http");
  // Unready at once, and every response from here on says Connection: close, even while the
  // jobs below are stopped.
  impl_->draining.store(true);
  impl_->host->BeginDrain();
  // Jobs first: running batches are cancelled (they resume at the next start), so none of
  // their requests is left for the drain below.
  if (impl_->jobs) impl_->jobs->Shutdown();
  impl_->listener->Stop();
  // Idle connections close; one on which a request has begun to arrive is read and answered
  // (Connection: close), and WaitIdle waits for it (HttpSession::CloseIfIdle).
  impl_->host->ForEachSession([](HttpSession& s) { s.CloseIfIdle(); });
  int64_t pending = impl_->host->in_flight();
  if (pending > 0) log->info("draining {} request(s) for up to {} ms", pending, grace.count());
  auto deadline = std::chrono::steady_clock::now() + grace;
  if (!impl_->host->WaitIdle(deadline)) {
    log->warn("{} request(s) still running after the grace period; cancelling them",
              impl_->host->in_flight());
    impl_->host->ForEachSession([](HttpSession& s) { s.CancelRequest(); });
    if (!impl_->host->WaitIdle(std::chrono::steady_clock::now() + kCancelWait)) {
      log->warn("{} request(s) did not end after cancellation", impl_->host->in_flight());
    }
  }
  // Handlers have returned (or been abandoned by a stuck engine); nothing new is accepted.
  impl_->executor->Shutdown();
  impl_->dispatch->Shutdown();
  // An engine that finishes a request from now on finds no I/O thread to post to.
  impl_->host->StopPosts();
  impl_->work.reset();
  impl_->host->ForEachSession([](HttpSession& s) { s.CloseIfIdle(); });
  impl_->ioc.stop();
  for (std::thread& t : impl_->io_threads) t.join();
  impl_->io_threads.clear();
  log->info("stopped");
}

}  // namespace modelrt::server
