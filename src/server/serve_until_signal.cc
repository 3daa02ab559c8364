#include "server/serve_until_signal.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <thread>

#include "core/logging.h"
#include "control/control_plane.h"
#include "core/paths.h"
#include "server/http_server.h"

namespace modelrt::server {

int ServeUntilSignal(const Config& config, const std::string& config_path) {
  auto log = Log("serve");
  // Every thread started from here on inherits the blocked mask; this thread takes the signals
  // with sigwait, so no handler runs at an arbitrary point of an engine or socket call.
  sigset_t signals, previous;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, &previous);
  auto restore = [&] { pthread_sigmask(SIG_SETMASK, &previous, nullptr); };
  log->info("configuration: {} ({} models, {} profiles)", config.source, config.models.size(),
            config.profiles.size());
  const std::string state_path = ResolveDataDir(config.server) + "/registry.jsonl";
  auto control = control::ControlPlane::Create(
      {.config = config, .config_path = config_path, .state_path = state_path});
  if (!control) {
    const bool locked = control.error().code() == StatusCode::kUnavailable &&
                        control.error().message().find("registry journal") != std::string::npos;
    log->error("cannot start: {}{}", control.error().ToString(),
               locked ? " (another server uses this data directory: set server.data_dir or "
                        "MODELRT_DATA_DIR)"
                      : "");
    restore();
    return 1;
  }
  // The server keeps its jobs, batches and files in the data directory too.
  Config served = config;
  served.server.data_dir = ResolveDataDir(config.server);
  auto server = HttpServer::Create(**control, served);
  if (!server) {
    log->error("cannot start the HTTP server: {}", server.error().ToString());
    restore();
    return 1;
  }

  int signal_number = 0;
  // SIGHUP re-reads the config here, on the signal thread: a SIGTERM that arrives meanwhile is
  // taken once it is done (re-reads are serialized with admin writes anyway).
  while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) {
    log->info("received SIGHUP: re-reading the configuration");
    Result<control::ConfigReload> reloaded = (*control)->ReloadConfigFile();  // logs the outcome
    (void)reloaded;
  }
  auto grace = std::chrono::seconds(std::max(0, config.server.drain_grace_s));
  log->info("received {}: draining for up to {} s", strsignal(signal_number), grace.count());

  std::atomic<bool> drained{false};
  std::thread second_signal([&] {
    timespec poll{0, 100 * 1000 * 1000};
    while (!drained.load()) {
      if (sigtimedwait(&signals, nullptr, &poll) > 0) {
        log->warn("second signal: exiting without waiting for the drain");
        std::_Exit(1);
      }
    }
  });
  (*server)->Shutdown(grace);
  drained.store(true);
  second_signal.join();
  server->reset();
  control->reset();
  restore();
  log->info("bye");
  return 0;
}

}  // namespace modelrt::server
