// ControlPlane::ReloadConfigFile: the SIGHUP path (also POST /admin/config/reload and the config
// watch). See control_plane.h.
#include <utility>

#include "control/control_plane.h"
#include "core/logging.h"

namespace modelrt::control {
namespace {

// Host and port follow the command line (--host, --port) as much as the file; only the other
// server settings are compared.
bool ServerSettingsDiffer(ServerConfig a, ServerConfig b) {
  a.host = b.host;
  a.port = b.port;
  return !(a == b);
}

void LogReload(const std::string& path, const ConfigReload& reload) {
  const ConfigApplySummary& s = reload.summary;
  Log("control")->info(
      "re-read {}: registry version {}; models: {} added, {} removed, {} reloaded, {} updated, "
      "{} failed; providers: {} added, {} replaced, {} removed",
      path, reload.version, s.added.size(), s.removed.size(), s.reloaded.size(),
      s.updated.size(), s.failed.size(), s.providers_added.size(), s.providers_replaced.size(),
      s.providers_removed.size());
}

}  // namespace

Result<ConfigReload> ControlPlane::ReloadConfigFile() {
  auto log = Log("control");
  if (config_path_.empty()) {
    Status s = FailedPreconditionError(
        "the server runs the embedded demo catalog: there is no config file to re-read (start "
        "it with --config FILE)");
    log->warn("config reload: {}", s.message());
    return s;
  }
  MutexLock lock(write_mu_);
  Result<Config> next = LoadConfigFile(config_path_);
  if (!next) {
    Status s = InvalidArgumentError("config not reloaded, nothing applied: " +
                                    next.error().message());
    log->error("{}", s.message());
    return s;
  }
  const Config previous = FileSettings();
  std::vector<std::string> skipped;
  // Checked in full (the runtime's validator) before it is published: a config the runtime
  // cannot serve changes nothing, so there is nothing to roll back.
  Result<uint64_t> version = registry_->Rebase(*next, &skipped);
  if (!version) {
    Status s = version.error().WithPrefix("config not reloaded, nothing applied");
    log->error("{}", s.ToString());
    return s;
  }
  {
    MutexLock settings(settings_mu_);
    file_settings_ = *next;
  }
  ConfigReload reload{*version, ReconcileRuntime(&*next)};
  std::vector<std::string> notes;  // the runtime logged its own
  for (const std::string& change : skipped) {
    notes.push_back("run-time change dropped (no longer applies): " + change);
  }
  if (ServerSettingsDiffer(previous.server, next->server)) {
    notes.push_back("server settings changed: they apply at the next restart");
  }
  if (!(previous.reload == next->reload)) {
    notes.push_back("reload settings changed: they apply at the next restart");
  }
  LogReload(config_path_, reload);
  for (std::string& note : notes) {
    log->warn("config reload: {}", note);
    reload.summary.notes.push_back(std::move(note));
  }
  return reload;
}

}  // namespace modelrt::control
