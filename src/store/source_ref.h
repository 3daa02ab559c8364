// Where a bundle comes from, and which of its files are wanted.
//
//   MODELRT_ASSIGN_OR_RETURN(SourceRef src, ParseSourceRef("hf://BAAI/bge-small-en-v1.5@main"));
//   MODELRT_ASSIGN_OR_RETURN(StoreRef ref, ParseStoreRef("store://owner/repo@main/m.gguf"));
//   MODELRT_ASSIGN_OR_RETURN(auto chosen, ChooseFiles(listing, requests, "owner/repo@main"));
//
// Source references:
//   hf://owner/repo[@revision][/file-or-glob]   a Hugging Face hub-compatible endpoint
//   https://host/path/file (or http://)          one file; its sha256 must be given
//   /absolute/path or ./relative/path            a local file or directory (copied or linked)
// Store references (what an alias's `model` names): store://owner/repo[@revision][/path], the
// bundle's files/ directory when there is no path. The revision defaults to "main".
//
// File requests: "name" (required), {"optional": "name"}, {"first_available": ["a", "b"]}; names
// may be globs (fnmatch, '*' does not cross '/'). No requests means every file of the source.
//
// Thread-safety: free functions over values; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "modelrt/status.h"

namespace modelrt::store {

enum class SourceKind { kHub, kUrl, kLocal };

struct SourceRef {
  SourceKind kind = SourceKind::kHub;
  std::string repo;      // hub: "owner/repo"
  std::string revision;  // hub: "main" unless given
  std::string file;      // hub: a file or glob named in the reference itself ("" = none)
  std::string url;       // url
  std::string path;      // local
  std::string text;      // as written
};

Result<SourceRef> ParseSourceRef(std::string_view text);

struct StoreRef {
  std::string name;      // "owner/repo"
  std::string revision;  // "main" unless given
  std::string path;      // within the bundle's files/; "" = the directory
};

inline constexpr std::string_view kStoreScheme = "store://";
inline bool IsStoreRef(std::string_view model) { return model.rfind(kStoreScheme, 0) == 0; }
Result<StoreRef> ParseStoreRef(std::string_view text);
// The hub source a store reference was pulled from: store://o/r@v/f -> hf://o/r@v, file f.
SourceRef HubSourceFor(const StoreRef& ref);

// A bundle name: one or two components of [A-Za-z0-9._-] (not "." or ".."), at most 200 bytes.
Status CheckBundleName(std::string_view name);
// A revision: [A-Za-z0-9._-/]{1,128}, no ".." component.
Status CheckRevision(std::string_view revision);

struct FileRequest {
  enum class Kind { kRequired, kOptional, kFirstAvailable };
  Kind kind = Kind::kRequired;
  std::vector<std::string> names;  // one, or the candidates of first_available
};

// A JSON list of requests (see above). InvalidArgument naming the index and the problem;
// every name is checked by CheckRelativePath.
Result<std::vector<FileRequest>> ParseFileRequests(const Json& json);

struct RemoteFile {
  std::string path;
  int64_t size = -1;   // -1 = unknown
  std::string sha256;  // "" = unknown
};

struct ChosenFile {
  RemoteFile file;
  bool required = true;
};

// The files of `listing` that `requests` pick, each once, in listing order. NotFound naming the
// request when a required one (or every candidate of a first_available one) is missing.
Result<std::vector<ChosenFile>> ChooseFiles(const std::vector<RemoteFile>& listing,
                                            const std::vector<FileRequest>& requests,
                                            std::string_view where);

}  // namespace modelrt::store
