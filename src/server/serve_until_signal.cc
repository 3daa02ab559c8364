#include "server/serve_until_signal.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <thread>

#include "core/logging.h"
#include "modelrt/runtime.h"
#include "server/http_server.h"

namespace modelrt::server {

int ServeUntilSignal(const Config& config) {
  auto log = Log("serve");
  // Every thread started from here on inherits the blocked mask; this thread takes the signals
  // with sigwait, so no handler runs at an arbitrary point of an engine or socket call.
  sigset_t signals, previous;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, &previous);
  auto restore = [&] { pthread_sigmask(SIG_SETMASK, &previous, nullptr); };
  log->info("configuration: {} ({} models, {} profiles)", config.source, config.models.size(),
            config.profiles.size());
  auto runtime = ModelRuntime::Builder().SetConfig(config).Build();
  if (!runtime) {
    log->error("cannot start the runtime: {}", runtime.error().ToString());
    restore();
    return 1;
  }
  auto server = HttpServer::Create(**runtime, config);
  if (!server) {
    log->error("cannot start the HTTP server: {}", server.error().ToString());
    restore();
    return 1;
  }

  int signal_number = 0;
  sigwait(&signals, &signal_number);
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
  runtime->reset();
  restore();
  log->info("bye");
  return 0;
}

}  // namespace modelrt::server
