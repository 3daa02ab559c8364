// FileStore: the files of OpenAI's Files API (/v1/files): batch inputs uploaded by clients and
// batch outputs written by jobs. Each file is <dir>/<id> with its metadata in <dir>/<id>.json,
// written after the content (tmp + rename), so a listed file is always whole.
//
//   MODELRT_ASSIGN_OR_RETURN(auto files, FileStore::Open({.dir = data_dir + "/files"}));
//   MODELRT_ASSIGN_OR_RETURN(StoredFile f, files->Create("batch", "in.jsonl", body));
//   std::string path = f.path;
//
// Ids are "file-" and 24 hex digits; anything else is NotFound before the disk is touched, so a
// request's id never names a path outside the folder.
//
// Thread-safety: thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "modelrt/status.h"

namespace modelrt::jobs {

struct StoredFile {
  std::string id;
  std::string filename;
  std::string purpose;  // "batch", "batch_output", "user_data"
  int64_t bytes = 0;
  int64_t created_at = 0;  // Unix seconds
  std::string path;        // the content
};

// The Files API's object: {id, object: "file", bytes, created_at, filename, purpose, status}.
nlohmann::json ToOpenAiJson(const StoredFile& file);

class FileStore {
 public:
  struct Options {
    std::string dir;
    int64_t max_file_bytes = int64_t{200} << 20;
  };
  static Result<std::unique_ptr<FileStore>> Open(Options options);

  // Purposes a client may upload with.
  static bool IsUploadPurpose(std::string_view purpose);

  // Errors: InvalidArgument (purpose, empty or over-long file name, over max_file_bytes),
  // Unavailable (disk).
  Result<StoredFile> Create(std::string_view purpose, std::string_view filename,
                            std::string_view content);
  // Takes a file a job wrote (hard link, else copy) as a new stored file.
  Result<StoredFile> Adopt(const std::string& path, std::string_view purpose,
                           std::string_view filename);
  Result<StoredFile> Get(std::string_view id) const;
  // Newest first; "" purpose = all.
  std::vector<StoredFile> List(std::string_view purpose = "") const;
  Status Delete(std::string_view id);

  int64_t max_file_bytes() const { return options_.max_file_bytes; }

 private:
  explicit FileStore(Options options) : options_(std::move(options)) {}
  Result<StoredFile> Register(StoredFile file);
  std::string NewId() const;

  Options options_;
  mutable std::mutex mu_;  // id generation and deletes
};

}  // namespace modelrt::jobs
