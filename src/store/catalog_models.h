// The store as the catalog sees it: where it lives for a config, and how an alias whose model is
// `store://owner/repo@rev/file` becomes a path (pulled first when the alias says `pull: true`).
//
//   MODELRT_ASSIGN_OR_RETURN(auto store, ModelStore::Open(StoreOptionsFor(config)));
//   MODELRT_ASSIGN_OR_RETURN(spec.model, ResolveOrPull(*store, spec, ctx));
//
// Thread-safety: free functions; ResolveOrPull blocks for the pull (a load's thread).
#pragma once

#include <string>

#include "modelrt/catalog.h"
#include "modelrt/model.h"
#include "modelrt/status.h"
#include "store/model_store.h"

namespace modelrt::store {

// store.dir, else <data dir>/store.
std::string StoreDir(const Config& config);
// The store's options for a config: directory, hub endpoint and token, download settings.
StoreOptions StoreOptionsFor(const Config& config);

// The path of spec.model (a store:// reference) in the store. When it is missing and spec.pull is
// set, pulls that one file (or the whole revision, for a reference to the bundle's directory)
// from the hub first, cancelled with the load. NotFound naming `modelrt pull` otherwise.
Result<std::string> ResolveOrPull(ModelStore& store, const ModelSpec& spec, const CallContext& ctx);

}  // namespace modelrt::store
