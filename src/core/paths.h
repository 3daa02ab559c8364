// Where modelrt keeps its files: the data directory (generated demo models, persisted state).
//
//   std::string dir = ResolveDataDir(config.server);  // server.data_dir, $MODELRT_DATA_DIR,
//                                                     // else ~/.local/share/modelrt
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "modelrt/catalog.h"

namespace modelrt {

std::string ResolveDataDir(const ServerConfig& server);

// Writes `data` to `path` atomically (temp file + rename), creating parent directories.
Status WriteFileAtomically(const std::string& path, std::string_view data);

}  // namespace modelrt
