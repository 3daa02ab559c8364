// The CLI verbs that manage a running `modelrt serve` through its admin API: ps, load, unload,
// reload, registry, reloads, config-reload and providers list/show/preview/remove/put. Each
// makes one or two calls through an AdminClient and prints a table or a line for people, or with
// --json the server's JSON as received. A non-OK Status carries a message ready to print (the
// server's error.message with "(HTTP 409)", or why the server could not be reached).
//
//   AdminClient client(options);
//   AdminContext context{.client = client, .json = false, .out = std::cout};
//   MODELRT_RETURN_IF_ERROR(RunPs(context));
//
// Thread-safety: call from one thread; `out` is written without locking.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "cli/admin_client.h"
#include "modelrt/status.h"

namespace modelrt::cli {

struct AdminContext {
  const AdminClient& client;
  bool json = false;  // print the server's JSON as received instead of text for people
  std::ostream& out;  // where results go (stdout in the CLI)
  int64_t now_s = 0;  // "now" for ages like "12s ago"; 0 = the system clock
};

struct ReloadArgs {
  std::string alias;
  std::string model;         // --model: a new file path or upstream name; "" = keep
  std::string options_json;  // --options: a JSON object merged into the options; "" = keep
};

// GET /admin/models as a table.
Status RunPs(const AdminContext& context);
// POST /admin/models/{alias}/load, or .../unload when `load` is false.
Status RunLoadOrUnload(const AdminContext& context, const std::string& alias, bool load);
// POST /admin/models/{alias}/reload with the changes in `args` (none: reload the same spec).
Status RunReload(const AdminContext& context, const ReloadArgs& args);
// GET /admin/registry.
Status RunRegistry(const AdminContext& context);
// GET /admin/reloads.
Status RunReloads(const AdminContext& context);
// POST /admin/config/reload.
Status RunConfigReload(const AdminContext& context);

// GET /admin/providers.
Status RunProvidersList(const AdminContext& context);
// One provider and the aliases bound to it (from GET /admin/registry); NotFound when absent.
Status RunProviderShow(const AdminContext& context, const std::string& id);
// GET /admin/providers/{id}/removal-preview.
Status RunProviderPreview(const AdminContext& context, const std::string& id);
// DELETE /admin/providers/{id}?policy=block|cascade.
Status RunProviderRemove(const AdminContext& context, const std::string& id,
                         const std::string& policy);
// PUT /admin/providers/{id} with the provider read from `file` (JSON, or YAML unless the name
// ends in .json). InvalidArgument when the file cannot be read or parsed.
Status RunProviderPut(const AdminContext& context, const std::string& id, const std::string& file);

}  // namespace modelrt::cli
