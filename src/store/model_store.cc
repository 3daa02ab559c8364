// The model store; see model_store.h.
#include "store/model_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <filesystem>
#include <random>
#include <set>
#include <system_error>

#include "core/sha256.h"
#include "store/confined_path.h"

namespace modelrt::store {

namespace fs = std::filesystem;

struct ModelStore::Planned {
  ManifestFile file;
  std::string url;                       // hub or URL source
  std::vector<net::HttpHeader> headers;  // for url's host
  std::string local_path;                // local source
  bool link = false;                     // local source: hard-link rather than copy
  int64_t expected_size = -1;
  std::string expected_sha256;
};

namespace {

std::string RandomSuffix() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  return std::to_string(::getpid()) + "-" + std::to_string(rng() % 1000000000);
}

std::string BaseName(std::string_view path) {
  size_t slash = path.find_last_of('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string Stem(std::string_view name) {
  size_t dot = name.find('.');
  return std::string(dot == 0 || dot == std::string_view::npos ? name : name.substr(0, dot));
}

// A hard link to `from` at `to`, or a copy when the file system will not link.
Status LinkOrCopy(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_hard_link(from, to, ec);
  if (!ec) return OkStatus();
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) return InternalError(to.string() + ": " + ec.message());
  return OkStatus();
}

}  // namespace

Result<std::shared_ptr<ModelStore>> ModelStore::Open(StoreOptions options) {
  if (options.root.empty()) return InvalidArgumentError("the store needs a directory");
  // The directories appear with the first pull: opening a store never writes.
  std::error_code ec;
  options.root = fs::weakly_canonical(fs::absolute(options.root, ec), ec).string();
  if (ec) return InternalError(options.root + ": " + ec.message());
  return std::shared_ptr<ModelStore>(new ModelStore(std::move(options)));
}

std::string ModelStore::BundleDir(std::string_view name, std::string_view revision) const {
  return options_.root + "/" + SafeComponent(name) + "/" +
         SafeComponent(revision.empty() ? std::string_view("main") : revision);
}

DownloadOptions ModelStore::DownloadOptionsWithClient() {
  std::lock_guard<std::mutex> lock(client_mu_);
  // Made on the first download, not at Open: a runtime opens its store whether or not any alias
  // uses it. A loop thread per parallel range, so a large pull neither waits behind nor slows
  // the remote providers' shared client.
  if (options_.download.client == nullptr) {
    net::HttpClient::Options client;
    client.threads = std::clamp(options_.download.parallel_parts, 1, 8);
    Result<std::shared_ptr<net::HttpClient>> made = net::HttpClient::Create(client);
    options_.download.client = made.ok() ? *made : net::HttpClient::Shared();
  }
  return options_.download;
}

std::string ModelStore::BlobPath(const std::string& sha256) const {
  return options_.root + "/.blobs/sha256/" + sha256;
}

ModelStore::Planned ModelStore::PlannedFrom(const ChosenFile& chosen) {
  Planned p;
  p.file.remote_path = chosen.file.path;
  p.file.path = chosen.file.path;
  p.file.required = chosen.required;
  p.expected_size = chosen.file.size;
  p.expected_sha256 = chosen.file.sha256;
  return p;
}

Result<std::vector<ModelStore::Planned>> ModelStore::PlanHub(
    const SourceRef& source, const PullRequest& request, const std::shared_ptr<CancelSignal>& cancel,
    BundleManifest* manifest) {
  MODELRT_ASSIGN_OR_RETURN(HubListing listing,
                           ListHubRevision(options_.hub, source.repo, source.revision, cancel));
  std::vector<FileRequest> requests = request.files;
  if (!source.file.empty()) requests.push_back({FileRequest::Kind::kRequired, {source.file}});
  MODELRT_ASSIGN_OR_RETURN(std::vector<ChosenFile> chosen,
                           ChooseFiles(listing.files, requests, source.repo + "@" + source.revision));
  manifest->name = source.repo;
  manifest->revision = source.revision;
  manifest->commit = listing.commit;
  manifest->source = "hf://" + source.repo + "@" + source.revision;
  // Every file from the one commit the listing named, even if the branch moves meanwhile.
  const std::string& at = listing.commit.empty() ? source.revision : listing.commit;
  std::vector<Planned> planned;
  for (const ChosenFile& c : chosen) {
    Planned p = PlannedFrom(c);
    MODELRT_ASSIGN_OR_RETURN(net::Url url, HubFileUrl(options_.hub, source.repo, at, c.file.path));
    p.url = url.ToString();
    p.headers = HubHeaders(options_.hub);
    planned.push_back(std::move(p));
  }
  return planned;
}

Result<std::vector<ModelStore::Planned>> ModelStore::PlanUrl(const SourceRef& source,
                                                             const PullRequest& request,
                                                             BundleManifest* manifest) {
  MODELRT_ASSIGN_OR_RETURN(net::Url url, net::ParseUrl(source.url));
  std::string target = url.target.substr(0, url.target.find('?'));
  std::string file = BaseName(target);
  if (file.empty() || !CheckRelativePath(file).ok()) {
    return InvalidArgumentError("source '" + source.url + "': the URL must end in a file name");
  }
  // A bare URL carries nothing that proves what it serves: the digest is the proof.
  if (!IsSha256Hex(request.sha256)) {
    return InvalidArgumentError("source '" + source.url +
                                "': a URL source needs its sha256 (64 hex digits)");
  }
  manifest->name = request.name.empty() ? "url/" + SafeComponent(Stem(file)) : request.name;
  manifest->revision = request.revision.empty() ? "main" : request.revision;
  manifest->source = source.url;
  Planned p;
  p.file.remote_path = file;
  p.file.path = file;
  p.url = url.ToString();
  p.expected_sha256 = request.sha256;
  for (char& c : p.expected_sha256) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::vector<Planned>{std::move(p)};
}

Result<std::vector<ModelStore::Planned>> ModelStore::PlanLocal(const SourceRef& source,
                                                               const PullRequest& request,
                                                               BundleManifest* manifest) {
  std::error_code ec;
  fs::path root = fs::absolute(source.path, ec);
  if (ec || !fs::exists(root, ec)) return NotFoundError("source '" + source.path + "': no such file or directory");
  std::vector<RemoteFile> listing;
  if (fs::is_directory(root, ec)) {
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      std::string rel = fs::relative(it->path(), root, ec).string();
      if (ec || !CheckRelativePath(rel).ok()) continue;
      listing.push_back({rel, static_cast<int64_t>(it->file_size(ec)), ""});
    }
    std::sort(listing.begin(), listing.end(),
              [](const RemoteFile& a, const RemoteFile& b) { return a.path < b.path; });
  } else {
    listing.push_back({root.filename().string(), static_cast<int64_t>(fs::file_size(root, ec)), ""});
    root = root.parent_path();
  }
  MODELRT_ASSIGN_OR_RETURN(std::vector<ChosenFile> chosen, ChooseFiles(listing, request.files, source.path));
  std::string base = fs::path(source.path).filename().string();
  if (base.empty()) base = fs::path(source.path).parent_path().filename().string();
  manifest->name = request.name.empty() ? "local/" + SafeComponent(Stem(base)) : request.name;
  manifest->revision = request.revision.empty() ? "main" : request.revision;
  manifest->source = fs::absolute(source.path, ec).string();
  std::vector<Planned> planned;
  for (const ChosenFile& c : chosen) {
    Planned p = PlannedFrom(c);
    p.local_path = (root / c.file.path).string();
    p.link = request.link;
    planned.push_back(std::move(p));
  }
  return planned;
}

Status ModelStore::Fetch(Planned& p, const BundleManifest& manifest, const PullProgressFn& progress,
                         PullProgress& state, const std::shared_ptr<CancelSignal>& cancel,
                         PullStats& stats) {
  std::error_code ec;
  const int64_t before = state.bytes_done;
  state.file = p.file.path;
  auto report = [&](int64_t done) {
    state.bytes_done = before + done;
    if (progress) progress(state);
  };
  // Known content already in the store: nothing to fetch.
  if (IsSha256Hex(p.expected_sha256) && fs::exists(BlobPath(p.expected_sha256), ec)) {
    p.file.sha256 = p.expected_sha256;
    p.file.size = static_cast<int64_t>(fs::file_size(BlobPath(p.file.sha256), ec));
    ++stats.files_reused;
    report(p.file.size);
    return OkStatus();
  }
  const std::string key = Sha256Hex(manifest.source + "\n" + manifest.commit + "\n" +
                                    (p.url.empty() ? p.local_path : p.url)).substr(0, 40);
  const std::string partial = options_.root + "/.partial/" + key + ".part";
  const std::string verified = options_.root + "/.partial/" + key + ".verified";
  if (!p.local_path.empty()) {
    if (cancel && cancel->cancelled()) return CancelledError("pull cancelled");
    MODELRT_ASSIGN_OR_RETURN(std::string sha, Sha256File(p.local_path));
    p.file.sha256 = sha;
    p.file.size = static_cast<int64_t>(fs::file_size(p.local_path, ec));
    if (!fs::exists(BlobPath(sha), ec)) {
      // Copy to a temporary name first: a blob is complete or absent.
      fs::remove(partial, ec);
      if (p.link) {
        MODELRT_RETURN_IF_ERROR(LinkOrCopy(p.local_path, partial));
      } else {
        fs::copy_file(p.local_path, partial, ec);
        if (ec) return InternalError(partial + ": " + ec.message());
      }
      MODELRT_ASSIGN_OR_RETURN(std::string copied, Sha256File(partial));
      if (copied != sha) {
        fs::remove(partial, ec);
        return FailedPreconditionError(p.local_path + " changed while it was copied");
      }
      fs::rename(partial, BlobPath(sha), ec);
      if (ec) return InternalError(BlobPath(sha) + ": " + ec.message());
    } else {
      ++stats.files_reused;
    }
    report(p.file.size);
    return OkStatus();
  }
  MODELRT_ASSIGN_OR_RETURN(net::Url url, net::ParseUrl(p.url));
  // Known content downloads straight to its blob, so a pull that comes late finds it there.
  const bool known = IsSha256Hex(p.expected_sha256);
  DownloadSpec spec{url, p.headers, known ? BlobPath(p.expected_sha256) : verified, partial,
                    p.expected_size, p.expected_sha256};
  MODELRT_ASSIGN_OR_RETURN(
      DownloadResult got,
      DownloadFile(spec, DownloadOptionsWithClient(), [&](int64_t done, int64_t) { report(done); },
                   cancel));
  stats.bytes_resumed += got.resumed_from;
  stats.bytes_downloaded += got.size - got.resumed_from;
  stats.retries += got.retries;
  p.file.sha256 = got.sha256;
  p.file.size = got.size;
  // Known content went straight to its blob; other content is moved there now.
  if (!known && fs::exists(BlobPath(got.sha256), ec)) {
    fs::remove(verified, ec);
  } else if (!known) {
    fs::rename(verified, BlobPath(got.sha256), ec);
    if (ec && !fs::exists(BlobPath(got.sha256))) return InternalError(BlobPath(got.sha256) + ": " + ec.message());
  }
  report(p.file.size);
  return OkStatus();
}

Result<BundleManifest> ModelStore::Pull(const PullRequest& request, const PullProgressFn& progress,
                                        const std::shared_ptr<CancelSignal>& cancel, PullStats* stats_out) {
  MODELRT_ASSIGN_OR_RETURN(SourceRef source, ParseSourceRef(request.source));
  {
    std::error_code ec;
    for (const char* sub : {"/.blobs/sha256", "/.partial"}) {
      fs::create_directories(options_.root + sub, ec);
      if (ec) return InternalError(options_.root + sub + ": " + ec.message());
    }
  }
  if (!request.name.empty()) MODELRT_RETURN_IF_ERROR(CheckBundleName(request.name));
  if (!request.revision.empty()) MODELRT_RETURN_IF_ERROR(CheckRevision(request.revision));
  BundleManifest manifest;
  manifest.task = request.task;
  std::vector<Planned> planned;
  switch (source.kind) {
    case SourceKind::kHub: {
      MODELRT_ASSIGN_OR_RETURN(planned, PlanHub(source, request, cancel, &manifest));
      break;
    }
    case SourceKind::kUrl: {
      MODELRT_ASSIGN_OR_RETURN(planned, PlanUrl(source, request, &manifest));
      break;
    }
    case SourceKind::kLocal: {
      MODELRT_ASSIGN_OR_RETURN(planned, PlanLocal(source, request, &manifest));
      break;
    }
  }
  PullProgress state;
  state.files_total = static_cast<int>(planned.size());
  state.bytes_total = 0;
  for (const Planned& p : planned) {
    if (p.expected_size < 0) {
      state.bytes_total = -1;
      break;
    }
    state.bytes_total += p.expected_size;
  }
  if (progress) progress(state);
  PullStats stats;
  for (Planned& p : planned) {
    if (cancel && cancel->cancelled()) return CancelledError("pull of " + request.source + " cancelled");
    MODELRT_RETURN_IF_ERROR(Fetch(p, manifest, progress, state, cancel, stats));
    p.file.role = FileRole(p.file.path);
    p.file.media_type = MediaType(p.file.path);
    manifest.files.push_back(p.file);
    ++state.files_done;
    if (progress) progress(state);
  }
  manifest.created_at = static_cast<int64_t>(std::time(nullptr));
  MODELRT_RETURN_IF_ERROR(Install(manifest));
  if (stats_out) *stats_out = stats;
  return manifest;
}

Status ModelStore::Install(BundleManifest& manifest) {
  std::lock_guard<std::mutex> lock(install_mu_);
  const std::string dir = BundleDir(manifest.name, manifest.revision);
  // More files of the same commit join the bundle's; a new commit replaces it.
  if (Result<BundleManifest> old = ReadManifest(dir); old.ok() && old->commit == manifest.commit) {
    for (const ManifestFile& f : old->files) {
      if (manifest.FindFile(f.path) == nullptr) manifest.files.push_back(f);
    }
  }
  std::error_code ec;
  const fs::path parent = fs::path(dir).parent_path();
  fs::create_directories(parent, ec);
  const fs::path staging = parent / (".staging-" + RandomSuffix());
  fs::create_directories(staging / "files", ec);
  if (ec) return InternalError(staging.string() + ": " + ec.message());
  auto fail = [&](Status status) {
    fs::remove_all(staging, ec);
    return status;
  };
  for (const ManifestFile& f : manifest.files) {
    Result<fs::path> target = ConfinedPath(staging / "files", f.path);
    if (!target.ok()) return fail(target.error());
    fs::create_directories(target->parent_path(), ec);
    ::chmod(BlobPath(f.sha256).c_str(), 0444);  // a blob is shared: nobody edits it in place
    if (Status s = LinkOrCopy(BlobPath(f.sha256), *target); !s.ok()) return fail(s);
  }
  if (Status s = WriteManifest(staging.string(), manifest); !s.ok()) return fail(s);
  fs::path old = parent / (".old-" + RandomSuffix());
  bool replaced = false;
  if (fs::exists(dir, ec)) {
    fs::rename(dir, old, ec);
    if (ec) return fail(InternalError(dir + ": " + ec.message()));
    replaced = true;
  }
  fs::rename(staging, dir, ec);
  if (ec) {
    if (replaced) fs::rename(old, dir, ec);
    return fail(InternalError(dir + ": " + ec.message()));
  }
  if (replaced) fs::remove_all(old, ec);
  return OkStatus();
}

Result<std::string> ModelStore::Resolve(std::string_view store_ref) const {
  MODELRT_ASSIGN_OR_RETURN(StoreRef ref, ParseStoreRef(store_ref));
  const std::string dir = BundleDir(ref.name, ref.revision);
  Result<BundleManifest> manifest = ReadManifest(dir);
  if (!manifest.ok()) {
    if (manifest.error().code() != StatusCode::kNotFound) return manifest.error();
    return NotFoundError(std::string(store_ref) + " is not in the store (" + options_.root +
                         "); pull it with `modelrt pull hf://" + ref.name + "@" + ref.revision +
                         (ref.path.empty() ? "" : "/" + ref.path) + "` or set pull: true");
  }
  if (ref.path.empty()) return dir + "/files";
  bool known = manifest->FindFile(ref.path) != nullptr;
  if (!known) {
    // A directory of the bundle (an ONNX model's folder) is fine too.
    std::string prefix = ref.path + "/";
    for (const ManifestFile& f : manifest->files) {
      if (f.path.rfind(prefix, 0) == 0) known = true;
    }
  }
  if (!known) {
    return NotFoundError(std::string(store_ref) + ": the bundle has no file '" + ref.path +
                         "'; pull it with `modelrt pull hf://" + ref.name + "@" + ref.revision + "/" +
                         ref.path + "`");
  }
  MODELRT_ASSIGN_OR_RETURN(fs::path path, ConfinedPath(dir + "/files", ref.path));
  return path.string();
}

std::vector<BundleManifest> ModelStore::List() const {
  std::vector<BundleManifest> bundles;
  std::error_code ec;
  for (const auto& name : fs::directory_iterator(options_.root, ec)) {
    if (!name.is_directory(ec) || name.path().filename().string()[0] == '.') continue;
    for (const auto& rev : fs::directory_iterator(name.path(), ec)) {
      if (!rev.is_directory(ec) || rev.path().filename().string()[0] == '.') continue;
      if (Result<BundleManifest> m = ReadManifest(rev.path().string()); m.ok()) bundles.push_back(*m);
    }
  }
  std::sort(bundles.begin(), bundles.end(), [](const BundleManifest& a, const BundleManifest& b) {
    return std::tie(a.name, a.revision) < std::tie(b.name, b.revision);
  });
  return bundles;
}

Result<BundleManifest> ModelStore::Describe(std::string_view name, std::string_view revision) const {
  MODELRT_RETURN_IF_ERROR(CheckBundleName(name));
  if (!revision.empty()) MODELRT_RETURN_IF_ERROR(CheckRevision(revision));
  Result<BundleManifest> m = ReadManifest(BundleDir(name, revision));
  if (!m.ok() && m.error().code() == StatusCode::kNotFound) {
    return NotFoundError("no bundle " + std::string(name) + "@" +
                         std::string(revision.empty() ? "main" : revision) + " in the store");
  }
  return m;
}

Result<VerifyReport> ModelStore::Verify(std::string_view name, std::string_view revision) const {
  MODELRT_ASSIGN_OR_RETURN(BundleManifest m, Describe(name, revision));
  VerifyReport report{m.name, m.revision};
  const std::string dir = BundleDir(name, revision);
  for (const ManifestFile& f : m.files) {
    ++report.files_checked;
    Result<fs::path> path = ConfinedPath(dir + "/files", f.path);
    if (!path.ok()) {
      report.problems.push_back("files/" + f.path + ": " + path.error().message());
      continue;
    }
    Result<std::string> sha = Sha256File(path->string());
    if (!sha.ok()) {
      report.problems.push_back("files/" + f.path + ": missing");
    } else if (*sha != f.sha256) {
      report.problems.push_back("files/" + f.path + ": sha256 mismatch (manifest " + f.sha256 +
                                ", file " + *sha + ")");
    }
  }
  return report;
}

Status ModelStore::Remove(std::string_view name, std::string_view revision) {
  MODELRT_RETURN_IF_ERROR(Describe(name, revision).status());
  std::lock_guard<std::mutex> lock(install_mu_);
  std::error_code ec;
  const std::string dir = BundleDir(name, revision);
  fs::remove_all(dir, ec);
  if (ec) return InternalError(dir + ": " + ec.message());
  fs::remove(fs::path(dir).parent_path(), ec);  // only when empty
  // A blob only the store itself links (link count 1) belongs to no bundle any more.
  for (const auto& blob : fs::directory_iterator(options_.root + "/.blobs/sha256", ec)) {
    if (fs::hard_link_count(blob.path(), ec) == 1) fs::remove(blob.path(), ec);
  }
  return OkStatus();
}

}  // namespace modelrt::store
