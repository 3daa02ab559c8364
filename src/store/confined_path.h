// Paths that come from outside (a pull request's file names, a manifest read back from disk, a
// store:// reference) are checked here before they touch the file system: a relative path of
// plain components that stays inside its root, even through symlinks.
//
//   MODELRT_RETURN_IF_ERROR(CheckRelativePath(file.path));           // "a/b.gguf" ok, "../x" not
//   MODELRT_ASSIGN_OR_RETURN(std::filesystem::path p, ConfinedPath(bundle_dir, file.path));
//
// Thread-safety: free functions; safe from any thread.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "modelrt/status.h"

namespace modelrt::store {

// InvalidArgument unless `path` is non-empty, relative, at most 1024 bytes, and made of
// components that are neither empty, ".", ".." nor contain a NUL or a backslash.
Status CheckRelativePath(std::string_view path);

// root / path, after CheckRelativePath, with every existing component resolved (symlinks
// included) and checked to stay under root's own resolved path: a symlink inside the store that
// points out of it is refused (PermissionDenied) rather than followed.
Result<std::filesystem::path> ConfinedPath(const std::filesystem::path& root,
                                           std::string_view path);

// A name safe as one directory component: "owner/repo" -> "owner--repo"; other characters
// outside [A-Za-z0-9._-] become '_'. Never empty and never starting with '.'.
std::string SafeComponent(std::string_view name);

}  // namespace modelrt::store
