// Path confinement for the model store; see confined_path.h.
#include "store/confined_path.h"

#include <algorithm>
#include <cctype>
#include <system_error>

namespace modelrt::store {

namespace fs = std::filesystem;

Status CheckRelativePath(std::string_view path) {
  auto refuse = [&](std::string_view why) {
    std::string shown(path.substr(0, 200));
    for (char& c : shown) {
      if (c == '\0') c = '?';
    }
    return InvalidArgumentError("path '" + shown + "' " + std::string(why));
  };
  if (path.empty()) return InvalidArgumentError("path must not be empty");
  if (path.size() > 1024) return refuse("is longer than 1024 bytes");
  if (path.front() == '/') return refuse("must be relative");
  if (path.find('\0') != std::string_view::npos) return refuse("contains a NUL byte");
  if (path.find('\\') != std::string_view::npos) return refuse("contains a backslash");
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty()) return refuse("has an empty component");
    if (part == "." || part == "..") return refuse("must not contain '.' or '..' components");
    start = end + 1;
  }
  return OkStatus();
}

Result<fs::path> ConfinedPath(const fs::path& root, std::string_view path) {
  MODELRT_RETURN_IF_ERROR(CheckRelativePath(path));
  std::error_code ec;
  fs::path real_root = fs::weakly_canonical(root, ec);
  if (ec) return InternalError(root.string() + ": " + ec.message());
  fs::path joined = real_root / fs::path(std::string(path));
  // weakly_canonical resolves the components that exist (following their symlinks).
  fs::path resolved = fs::weakly_canonical(joined, ec);
  if (ec) return InternalError(joined.string() + ": " + ec.message());
  auto [root_end, unused] = std::mismatch(real_root.begin(), real_root.end(), resolved.begin(),
                                          resolved.end());
  if (root_end != real_root.end()) {
    return PermissionDeniedError("path '" + std::string(path) + "' leaves " + root.string() +
                                 " through a symlink");
  }
  return joined;
}

std::string SafeComponent(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '/') {
      out += "--";
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') {
      out.push_back(c);
    } else {
      out.push_back('_');
    }
  }
  // Never hidden (the store keeps its own .blobs and .partial), never "." or "..".
  if (out.empty() || out[0] == '.') out = "_" + out;
  return out;
}

}  // namespace modelrt::store
