#include "core/paths.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <unistd.h>

namespace modelrt {

std::string ResolveDataDir(const ServerConfig& server) {
  if (!server.data_dir.empty()) return server.data_dir;
  if (const char* env = std::getenv("MODELRT_DATA_DIR"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
    return std::string(xdg) + "/modelrt";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.local/share/modelrt";
  return "./modelrt-data";
}

Status WriteFileAtomically(const std::string& path, std::string_view data) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  if (ec) return InternalError("cannot create " + target.parent_path().string() + ": " + ec.message());
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return InternalError("cannot write " + tmp);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out.flush()) return InternalError("short write to " + tmp);
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return InternalError("cannot rename into " + path);
  }
  return OkStatus();
}

}  // namespace modelrt
