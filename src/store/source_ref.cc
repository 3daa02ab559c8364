// Source and store references, file requests; see source_ref.h.
#include "store/source_ref.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "store/confined_path.h"

namespace modelrt::store {
namespace {

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

// "owner/repo[@rev][/rest]" -> name, revision, rest.
Status SplitNamed(std::string_view text, std::string_view what, std::string* name,
                  std::string* revision, std::string* rest) {
  size_t at = text.find('@');
  std::string_view head = at == std::string_view::npos ? text : text.substr(0, at);
  std::string_view tail = at == std::string_view::npos ? std::string_view() : text.substr(at + 1);
  if (at == std::string_view::npos) {
    // No revision: the name is the first two components, the rest a path.
    size_t first = head.find('/');
    size_t second = first == std::string_view::npos ? first : head.find('/', first + 1);
    *name = std::string(head.substr(0, second));
    *rest = second == std::string_view::npos ? "" : std::string(head.substr(second + 1));
    *revision = "main";
  } else {
    *name = std::string(head);
    size_t slash = tail.find('/');
    *revision = std::string(tail.substr(0, slash));
    *rest = slash == std::string_view::npos ? "" : std::string(tail.substr(slash + 1));
  }
  if (Status s = CheckBundleName(*name); !s.ok()) {
    return InvalidArgumentError(std::string(what) + " '" + std::string(text) + "': " + s.message());
  }
  if (Status s = CheckRevision(*revision); !s.ok()) {
    return InvalidArgumentError(std::string(what) + " '" + std::string(text) + "': " + s.message());
  }
  if (!rest->empty()) {
    if (Status s = CheckRelativePath(*rest); !s.ok()) {
      return InvalidArgumentError(std::string(what) + " '" + std::string(text) + "': " + s.message());
    }
  }
  return OkStatus();
}

bool Matches(std::string_view pattern, const std::string& path) {
  return fnmatch(std::string(pattern).c_str(), path.c_str(), FNM_PATHNAME) == 0;
}

}  // namespace

Status CheckBundleName(std::string_view name) {
  if (name.empty() || name.size() > 200) return InvalidArgumentError("the name must be 1-200 bytes");
  size_t slash = name.find('/');
  std::vector<std::string_view> parts = {name.substr(0, slash)};
  if (slash != std::string_view::npos) parts.push_back(name.substr(slash + 1));
  for (std::string_view part : parts) {
    if (part.empty() || part == "." || part == ".." ||
        !std::all_of(part.begin(), part.end(), IsNameChar)) {
      return InvalidArgumentError("the name must be 'owner/repo' of A-Z a-z 0-9 . _ -");
    }
  }
  return OkStatus();
}

Status CheckRevision(std::string_view revision) {
  bool ok = !revision.empty() && revision.size() <= 128 &&
            std::all_of(revision.begin(), revision.end(), [](char c) { return IsNameChar(c) || c == '/'; });
  if (ok && revision.find('/') != std::string_view::npos) ok = CheckRelativePath(revision).ok();
  if (!ok || revision == "." || revision == "..") {
    return InvalidArgumentError("the revision must be 1-128 bytes of A-Z a-z 0-9 . _ - /");
  }
  return OkStatus();
}

Result<SourceRef> ParseSourceRef(std::string_view text) {
  SourceRef ref;
  ref.text = std::string(text);
  if (text.rfind("hf://", 0) == 0) {
    ref.kind = SourceKind::kHub;
    MODELRT_RETURN_IF_ERROR(SplitNamed(text.substr(5), "source", &ref.repo, &ref.revision, &ref.file));
    if (ref.repo.find('/') == std::string::npos) {
      return InvalidArgumentError("source '" + std::string(text) + "': the repo must be owner/repo");
    }
    return ref;
  }
  if (text.rfind("https://", 0) == 0 || text.rfind("http://", 0) == 0) {
    ref.kind = SourceKind::kUrl;
    ref.url = std::string(text);
    return ref;
  }
  if (text.rfind("store://", 0) == 0) {
    return InvalidArgumentError("source '" + std::string(text) +
                                "': a store:// reference names a bundle already pulled; pull "
                                "from hf://, https:// or a local path");
  }
  if (text.empty()) return InvalidArgumentError("source: must not be empty");
  if (text.find("://") != std::string_view::npos) {
    return InvalidArgumentError("source '" + std::string(text) +
                                "': must be hf://owner/repo, an http(s):// URL or a local path");
  }
  ref.kind = SourceKind::kLocal;
  ref.path = std::string(text);
  return ref;
}

Result<StoreRef> ParseStoreRef(std::string_view text) {
  if (!IsStoreRef(text)) return InvalidArgumentError("'" + std::string(text) + "' is not a store:// reference");
  StoreRef ref;
  MODELRT_RETURN_IF_ERROR(
      SplitNamed(text.substr(kStoreScheme.size()), "store reference", &ref.name, &ref.revision, &ref.path));
  return ref;
}

SourceRef HubSourceFor(const StoreRef& ref) {
  SourceRef source;
  source.kind = SourceKind::kHub;
  source.repo = ref.name;
  source.revision = ref.revision;
  source.file = ref.path;
  source.text = "hf://" + ref.name + "@" + ref.revision + (ref.path.empty() ? "" : "/" + ref.path);
  return source;
}

Result<std::vector<FileRequest>> ParseFileRequests(const Json& json) {
  if (json.is_null()) return std::vector<FileRequest>{};
  if (!json.is_array()) return InvalidArgumentError("files: must be a list");
  std::vector<FileRequest> requests;
  for (size_t i = 0; i < json.size(); ++i) {
    const Json& item = json[i];
    std::string where = "files[" + std::to_string(i) + "]";
    FileRequest request;
    auto take = [&](const Json& name) -> Status {
      if (!name.is_string()) return InvalidArgumentError(where + ": names must be strings");
      std::string text = name.get<std::string>();
      if (Status s = CheckRelativePath(text); !s.ok()) {
        return InvalidArgumentError(where + ": " + s.message());
      }
      request.names.push_back(std::move(text));
      return OkStatus();
    };
    if (item.is_string()) {
      MODELRT_RETURN_IF_ERROR(take(item));
    } else if (item.is_object() && item.size() == 1) {
      const std::string key = item.begin().key();
      const Json& value = item.begin().value();
      if (key == "required" || key == "optional") {
        request.kind = key == "required" ? FileRequest::Kind::kRequired : FileRequest::Kind::kOptional;
        MODELRT_RETURN_IF_ERROR(take(value));
      } else if (key == "first_available") {
        request.kind = FileRequest::Kind::kFirstAvailable;
        if (!value.is_array() || value.empty()) {
          return InvalidArgumentError(where + ".first_available: must be a non-empty list of names");
        }
        for (const Json& name : value) MODELRT_RETURN_IF_ERROR(take(name));
      } else {
        return InvalidArgumentError(where + ": unknown key '" + key +
                                    "' (expected required, optional or first_available)");
      }
    } else {
      return InvalidArgumentError(where + ": must be a name or {required|optional|first_available: ...}");
    }
    requests.push_back(std::move(request));
  }
  return requests;
}

Result<std::vector<ChosenFile>> ChooseFiles(const std::vector<RemoteFile>& listing,
                                            const std::vector<FileRequest>& requests,
                                            std::string_view where) {
  std::vector<ChosenFile> chosen;
  if (requests.empty()) {
    for (const RemoteFile& f : listing) chosen.push_back({f, true});
    return chosen;
  }
  // path -> required, over every request.
  std::vector<int> picked(listing.size(), -1);
  auto pick = [&](std::string_view pattern, bool required) {
    bool any = false;
    for (size_t i = 0; i < listing.size(); ++i) {
      if (!Matches(pattern, listing[i].path)) continue;
      any = true;
      picked[i] = std::max(picked[i], required ? 1 : 0);
    }
    return any;
  };
  for (const FileRequest& request : requests) {
    switch (request.kind) {
      case FileRequest::Kind::kRequired:
        if (!pick(request.names[0], true)) {
          return NotFoundError("required file '" + request.names[0] + "' is not in " + std::string(where));
        }
        break;
      case FileRequest::Kind::kOptional:
        pick(request.names[0], false);
        break;
      case FileRequest::Kind::kFirstAvailable: {
        bool found = false;
        for (const std::string& name : request.names) {
          if (pick(name, true)) {
            found = true;
            break;
          }
        }
        if (!found) {
          std::string names;
          for (const std::string& name : request.names) names += (names.empty() ? "" : ", ") + name;
          return NotFoundError("none of " + names + " is in " + std::string(where));
        }
        break;
      }
    }
  }
  for (size_t i = 0; i < listing.size(); ++i) {
    if (picked[i] >= 0) chosen.push_back({listing[i], picked[i] == 1});
  }
  return chosen;
}

}  // namespace modelrt::store
