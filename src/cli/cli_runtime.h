// Shared set-up for CLI verbs that run models in process: load the config (a file, or the
// embedded demo catalog with its model files prepared in the data directory) and build a
// runtime over it.
//
//   MODELRT_ASSIGN_OR_RETURN(Config config, LoadCliConfig(config_path));
//
// Thread-safety: call from the main thread.
#pragma once

#include <memory>
#include <string>

#include "modelrt/catalog.h"
#include "modelrt/runtime.h"

namespace modelrt::cli {

// `path` empty: the embedded demo catalog (creating its models on first use).
Result<Config> LoadCliConfig(const std::string& path);

// A runtime over `config` in which nothing loads before it is asked for: a one-shot command
// should not pay for models it does not use.
Result<std::unique_ptr<ModelRuntime>> BuildLazyRuntime(Config config);

}  // namespace modelrt::cli
