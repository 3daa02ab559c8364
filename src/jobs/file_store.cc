#include "jobs/file_store.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>

namespace modelrt::jobs {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

bool IsFileId(std::string_view id) {
  if (id.size() != 29 || id.substr(0, 5) != "file-") return false;
  for (char c : id.substr(5)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status WriteWhole(const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) return UnavailableError("cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return UnavailableError("cannot install " + path + ": " + ec.message());
  return OkStatus();
}

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Json ToOpenAiJson(const StoredFile& f) {
  return {{"id", f.id},
          {"object", "file"},
          {"bytes", f.bytes},
          {"created_at", f.created_at},
          {"filename", f.filename},
          {"purpose", f.purpose},
          {"status", "processed"},
          {"status_details", nullptr}};
}

Result<std::unique_ptr<FileStore>> FileStore::Open(Options options) {
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) return UnavailableError("files: cannot create " + options.dir + ": " + ec.message());
  return std::unique_ptr<FileStore>(new FileStore(std::move(options)));
}

bool FileStore::IsUploadPurpose(std::string_view purpose) {
  return purpose == "batch" || purpose == "user_data";
}

std::string FileStore::NewId() const {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  while (true) {
    std::string id = "file-";
    for (int i = 0; i < 24; ++i) id += kHex[rng() % 16];
    if (!fs::exists(options_.dir + "/" + id)) return id;
  }
}

Result<StoredFile> FileStore::Register(StoredFile file) {
  Json meta = {{"id", file.id},           {"filename", file.filename},
               {"purpose", file.purpose}, {"bytes", file.bytes},
               {"created_at", file.created_at}};
  MODELRT_RETURN_IF_ERROR(WriteWhole(options_.dir + "/" + file.id + ".json", meta.dump()));
  return file;
}

Result<StoredFile> FileStore::Create(std::string_view purpose, std::string_view filename,
                                     std::string_view content) {
  if (!IsUploadPurpose(purpose)) {
    return InvalidArgumentError("purpose must be \"batch\" or \"user_data\" (got \"" +
                                std::string(purpose) + "\")");
  }
  if (filename.empty() || filename.size() > 255) {
    return InvalidArgumentError("the file needs a name of 1 to 255 characters");
  }
  if (static_cast<int64_t>(content.size()) > options_.max_file_bytes) {
    return InvalidArgumentError("the file has " + std::to_string(content.size()) +
                                  " bytes; the limit is " + std::to_string(options_.max_file_bytes) +
                                  " (jobs.batch_max_file_bytes)");
  }
  StoredFile file;
  {
    std::lock_guard lock(mu_);
    file.id = NewId();
    file.path = options_.dir + "/" + file.id;
    MODELRT_RETURN_IF_ERROR(WriteWhole(file.path, content));
  }
  file.filename = std::string(filename);
  file.purpose = std::string(purpose);
  file.bytes = static_cast<int64_t>(content.size());
  file.created_at = NowSeconds();
  return Register(std::move(file));
}

Result<StoredFile> FileStore::Adopt(const std::string& path, std::string_view purpose,
                                    std::string_view filename) {
  StoredFile file;
  std::error_code ec;
  {
    std::lock_guard lock(mu_);
    file.id = NewId();
    file.path = options_.dir + "/" + file.id;
    fs::create_hard_link(path, file.path, ec);
    if (ec) {
      ec.clear();
      fs::copy_file(path, file.path, ec);
    }
  }
  if (ec) return UnavailableError("cannot store " + path + ": " + ec.message());
  file.filename = std::string(filename);
  file.purpose = std::string(purpose);
  file.bytes = static_cast<int64_t>(fs::file_size(file.path, ec));
  file.created_at = NowSeconds();
  return Register(std::move(file));
}

Result<StoredFile> FileStore::Get(std::string_view id) const {
  const std::string missing = "No such File object: " + std::string(id);
  if (!IsFileId(id)) return NotFoundError(missing);
  const std::string base = options_.dir + "/" + std::string(id);
  std::ifstream in(base + ".json");
  if (!in) return NotFoundError(missing);
  Json meta = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!meta.is_object() || !fs::exists(base)) return NotFoundError(missing);
  StoredFile f;
  f.id = std::string(id);
  f.filename = meta.value("filename", "");
  f.purpose = meta.value("purpose", "");
  f.bytes = meta.value("bytes", int64_t{0});
  f.created_at = meta.value("created_at", int64_t{0});
  f.path = base;
  return f;
}

std::vector<StoredFile> FileStore::List(std::string_view purpose) const {
  std::vector<StoredFile> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != 34 || !name.ends_with(".json")) continue;
    Result<StoredFile> f = Get(name.substr(0, 29));
    if (f.ok() && (purpose.empty() || f->purpose == purpose)) files.push_back(*std::move(f));
  }
  std::sort(files.begin(), files.end(), [](const StoredFile& a, const StoredFile& b) {
    return a.created_at != b.created_at ? a.created_at > b.created_at : a.id > b.id;
  });
  return files;
}

Status FileStore::Delete(std::string_view id) {
  MODELRT_ASSIGN_OR_RETURN(StoredFile f, Get(id));
  std::lock_guard lock(mu_);
  std::error_code ec;
  fs::remove(f.path + ".json", ec);  // first: without it the file is no longer listed
  fs::remove(f.path, ec);
  return OkStatus();
}

}  // namespace modelrt::jobs
