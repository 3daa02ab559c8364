// One file's download: ranges, resume, retries, verification; see file_download.h.
#include "store/file_download.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "core/ascii_case.h"
#include "core/json.h"
#include "core/paths.h"
#include "core/sha256.h"
#include "net/retry_hints.h"

namespace modelrt::store {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr int kMaxRedirects = 10;

// A download to start over (the file changed on the server, or it will not resume).
Status AbortedError(std::string message) { return Status(StatusCode::kAborted, std::move(message)); }
constexpr int64_t kSaveEveryBytes = int64_t{4} << 20;
constexpr int64_t kProgressEveryBytes = 64 << 10;

// A byte range of the file: [start, end), end -1 while the size is unknown; `done` bytes from
// start are on disk.
struct Part {
  int64_t start = 0;
  int64_t end = -1;
  int64_t done = 0;
};

// What survives a crash: which URL, the server's validator, and each range's progress.
struct Sidecar {
  std::string url;
  std::string validator;
  int64_t size = -1;
  std::vector<Part> parts;
};

Json SidecarJson(const Sidecar& s) {
  Json parts = Json::array();
  for (const Part& p : s.parts) parts.push_back({{"start", p.start}, {"end", p.end}, {"done", p.done}});
  return {{"url", s.url}, {"validator", s.validator}, {"size", s.size}, {"parts", parts}};
}

std::optional<Sidecar> LoadSidecar(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  Json json = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return std::nullopt;
  Sidecar s;
  try {
    s.url = json.at("url").get<std::string>();
    s.validator = json.at("validator").get<std::string>();
    s.size = json.at("size").get<int64_t>();
    for (const Json& p : json.at("parts")) {
      Part part{p.at("start").get<int64_t>(), p.at("end").get<int64_t>(),
                p.at("done").get<int64_t>()};
      if (part.start < 0 || part.done < 0 || (part.end >= 0 && part.start + part.done > part.end)) {
        return std::nullopt;
      }
      s.parts.push_back(part);
    }
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (s.parts.empty()) return std::nullopt;
  return s;
}

// The Location of a redirect, against the URL that sent it.
Result<net::Url> ResolveLocation(const net::Url& from, std::string_view location) {
  if (location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0) {
    return net::ParseUrl(location);
  }
  if (location.empty() || location[0] != '/') {
    return InvalidArgumentError("redirect to an unsupported Location '" +
                                std::string(location.substr(0, 200)) + "'");
  }
  net::Url to = from;
  to.target = std::string(location);
  return to;
}

// "bytes 100-199/1000" -> {100, 1000}; total -1 for "*".
std::optional<std::pair<int64_t, int64_t>> ParseContentRange(std::string_view value) {
  if (value.rfind("bytes ", 0) != 0) return std::nullopt;
  value.remove_prefix(6);
  size_t dash = value.find('-'), slash = value.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash) {
    return std::nullopt;
  }
  try {
    int64_t start = std::stoll(std::string(value.substr(0, dash)));
    std::string total_text(value.substr(slash + 1));
    int64_t total = total_text == "*" ? -1 : std::stoll(total_text);
    return std::make_pair(start, total);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// One HTTP exchange for one range, blocking until it ends.
struct Exchange {
  Status transport;  // OK when the answer came to its end
  int status = 0;
  std::string location;
  std::string validator;
  int64_t total = -1;
  std::optional<milliseconds> retry_after;
  std::string body;     // the start of a body that was not written (errors, redirects)
  int64_t written = 0;  // bytes of the range written to the file
  bool range_ignored = false;  // 200 to a request for a range that does not start at 0
  std::string linked_etag;     // X-Linked-Etag, unquoted
  int64_t linked_size = -1;    // X-Linked-Size
  std::string repo_commit;     // X-Repo-Commit
};

// The whole download's shared state.
class Download {
 public:
  Download(const DownloadSpec& spec, const DownloadOptions& options,
           const DownloadProgressFn& progress, const std::shared_ptr<CancelSignal>& cancel)
      : spec_(spec), options_(options), progress_(progress), cancel_(cancel) {
    if (!options_.client) options_.client = net::HttpClient::Shared();
    if (!cancel_) cancel_ = std::make_shared<CancelSignal>();
  }

  Result<DownloadResult> Run() {
    std::error_code ec;
    fs::create_directories(fs::path(spec_.partial).parent_path(), ec);
    fs::create_directories(fs::path(spec_.dest).parent_path(), ec);
    // Content known by its digest may already be where it goes (another caller just put it there).
    if (!spec_.expected_sha256.empty() && fs::exists(spec_.dest, ec)) {
      result_.size = static_cast<int64_t>(fs::file_size(spec_.dest, ec));
      result_.sha256 = spec_.expected_sha256;
      result_.shared = true;
      return result_;
    }
    for (int restart = 0;; ++restart) {
      Status status = RunOnce();
      if (status.ok()) break;
      // The file changed under us (or the server will not resume it): start over, once.
      if (status.code() == StatusCode::kAborted && restart == 0) {
        Discard();
        continue;
      }
      if (status.code() == StatusCode::kFailedPrecondition) Discard();
      return status;
    }
    return result_;
  }

 private:
  std::string SidecarPath() const { return spec_.partial + ".json"; }

  void Discard() {
    std::error_code ec;
    fs::remove(spec_.partial, ec);
    fs::remove(SidecarPath(), ec);
  }

  void PlanFresh() {
    Discard();
    sidecar_ = Sidecar{};
    sidecar_.url = spec_.url.ToString();
    sidecar_.size = spec_.expected_size;
    int64_t size = spec_.expected_size;
    int parts = options_.parallel_parts;
    if (size >= 0 && size >= options_.parallel_threshold && parts > 1) {
      int64_t step = (size + parts - 1) / parts;
      for (int64_t start = 0; start < size; start += step) {
        sidecar_.parts.push_back({start, std::min(size, start + step), 0});
      }
    } else {
      sidecar_.parts.push_back({0, size, 0});
    }
  }

  Status CheckSpace() const {
    int64_t need = 0;
    for (const Part& p : sidecar_.parts) {
      if (p.end < 0) return OkStatus();  // unknown size: checked by the writes themselves
      need += p.end - p.start - p.done;
    }
    struct statvfs fsinfo {};
    if (::statvfs(fs::path(spec_.partial).parent_path().c_str(), &fsinfo) != 0) return OkStatus();
    int64_t free_bytes = static_cast<int64_t>(fsinfo.f_bavail) * static_cast<int64_t>(fsinfo.f_frsize);
    if (free_bytes < need) {
      return ResourceExhaustedError("not enough disk space for " + spec_.url.ToString() + ": " +
                                    std::to_string(need) + " bytes needed, " +
                                    std::to_string(free_bytes) + " free in " +
                                    fs::path(spec_.partial).parent_path().string());
    }
    return OkStatus();
  }

  Status RunOnce() {
    std::optional<Sidecar> saved = LoadSidecar(SidecarPath());
    std::error_code ec;
    bool resumable = saved && saved->url == spec_.url.ToString() && fs::exists(spec_.partial, ec) &&
                     (spec_.expected_size < 0 || saved->size == spec_.expected_size);
    if (resumable) {
      sidecar_ = *saved;
    } else {
      PlanFresh();
    }
    MODELRT_RETURN_IF_ERROR(CheckSpace());
    fd_ = ::open(spec_.partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return InternalError(spec_.partial + ": " + std::strerror(errno));
    int64_t on_disk = 0;
    for (const Part& p : sidecar_.parts) on_disk += p.done;
    result_.resumed_from = on_disk;
    done_.store(on_disk);
    result_.parts = static_cast<int>(sidecar_.parts.size());
    StartHashing();
    SaveSidecar(/*force=*/true);

    std::vector<Status> outcomes(sidecar_.parts.size());
    if (sidecar_.parts.size() == 1) {
      outcomes[0] = RunPart(0);
    } else {
      std::vector<std::thread> threads;
      for (size_t i = 0; i < sidecar_.parts.size(); ++i) {
        threads.emplace_back([this, i, &outcomes] {
          outcomes[i] = RunPart(i);
          // One part failing for good stops the others.
          if (!outcomes[i].ok()) failed_.store(true);
        });
      }
      for (std::thread& t : threads) t.join();
    }
    Status first_error;
    for (const Status& s : outcomes) {
      if (!s.ok() && (first_error.ok() || first_error.code() == StatusCode::kCancelled)) {
        first_error = s;
      }
    }
    StopHashing();
    if (!first_error.ok()) {
      SaveSidecar(/*force=*/true);
      ::close(fd_);
      fd_ = -1;
      return first_error;
    }
    return Finish();
  }

  Status Finish() {
    int64_t size = 0;
    for (const Part& p : sidecar_.parts) size = std::max(size, p.start + p.done);
    // No fsync: a killed process loses nothing the page cache holds, and the file's sha256 is
    // checked below and again by `modelrt store verify`; syncing would triple a pull's time.
    if (::ftruncate(fd_, size) != 0) {
      std::string reason = spec_.partial + ": " + std::strerror(errno);
      ::close(fd_);
      fd_ = -1;
      return InternalError(reason);
    }
    ::close(fd_);
    fd_ = -1;
    if (spec_.expected_size >= 0 && size != spec_.expected_size) {
      return FailedPreconditionError("size mismatch for " + spec_.url.ToString() + ": expected " +
                                     std::to_string(spec_.expected_size) + " bytes, got " +
                                     std::to_string(size));
    }
    std::string sha;
    if (hash_error_.ok() && hashed_ == size) {
      sha = hasher_.HexDigest();
    } else {
      MODELRT_ASSIGN_OR_RETURN(sha, Sha256File(spec_.partial));
    }
    if (!spec_.expected_sha256.empty() && !EqualsIgnoreCase(sha, spec_.expected_sha256)) {
      return FailedPreconditionError("sha256 mismatch for " + spec_.url.ToString() + ": expected " +
                                     spec_.expected_sha256 + ", got " + sha +
                                     "; nothing was installed");
    }
    std::error_code ec;
    fs::rename(spec_.partial, spec_.dest, ec);
    if (ec) return InternalError(spec_.dest + ": " + ec.message());
    fs::remove(SidecarPath(), ec);
    result_.size = size;
    result_.sha256 = sha;
    return OkStatus();
  }

  // Bytes [0, n) are all on disk (each range's done bytes, in order, up to the first gap).
  int64_t ContiguousDone() {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t pos = 0;
    for (const Part& p : sidecar_.parts) {
      if (p.start != pos) break;
      pos = p.start + p.done;
      if (p.end < 0 || p.start + p.done < p.end) break;
    }
    return pos;
  }

  void StartHashing() {
    hasher_ = Sha256();
    hashed_ = 0;
    hash_error_ = OkStatus();
    hash_stop_ = false;
    hash_thread_ = std::thread([this] {
      std::vector<char> buffer(1 << 20);
      for (;;) {
        bool stop;
        {
          std::unique_lock<std::mutex> lock(hash_mu_);
          hash_cv_.wait_for(lock, std::chrono::milliseconds(20));
          stop = hash_stop_;
        }
        // Past a stop, one more read takes what the last writes left.
        const int64_t target = ContiguousDone();
        while (hashed_ < target && hash_error_.ok()) {
          size_t want = static_cast<size_t>(
              std::min<int64_t>(target - hashed_, static_cast<int64_t>(buffer.size())));
          ssize_t n = ::pread(fd_, buffer.data(), want, hashed_);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) {
            hash_error_ = InternalError(spec_.partial + ": cannot read back the partial file");
            break;
          }
          hasher_.Update(std::string_view(buffer.data(), static_cast<size_t>(n)));
          hashed_ += n;
        }
        if (stop) return;
      }
    });
  }

  void StopHashing() {
    {
      std::lock_guard<std::mutex> lock(hash_mu_);
      hash_stop_ = true;
    }
    hash_cv_.notify_all();
    if (hash_thread_.joinable()) hash_thread_.join();
  }

  void SaveSidecar(bool force) {
    std::lock_guard<std::mutex> lock(mu_);
    SaveSidecarLocked(force);
  }

  // Under mu_. The sidecar may lag the file (never lead it): a resume re-fetches a few MiB at most.
  void SaveSidecarLocked(bool force) {
    int64_t done = done_.load();
    if (!force && done - saved_at_ < kSaveEveryBytes) return;
    saved_at_ = done;
    (void)WriteFileAtomically(SidecarPath(), SidecarJson(sidecar_).dump());
  }

  void AddProgress(size_t part, int64_t bytes) {
    int64_t done = 0, size = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      sidecar_.parts[part].done += bytes;
      done = done_.fetch_add(bytes) + bytes;
      size = sidecar_.size;
      SaveSidecarLocked(false);
    }
    if (done - reported_.load() >= kProgressEveryBytes || done == size) {
      reported_.store(done);
      if (progress_) {
        std::lock_guard<std::mutex> lock(progress_mu_);
        progress_(done, size);
      }
    }
  }

  Exchange Fetch(size_t index, const net::Url& url, bool same_host) {
    Part part;
    std::string validator;
    {
      std::lock_guard<std::mutex> lock(mu_);
      part = sidecar_.parts[index];
      validator = sidecar_.validator;
    }
    const int64_t from = part.start + part.done;
    net::HttpRequest request;
    request.method = "GET";
    request.url = url;
    if (same_host) request.headers = spec_.headers;
    if (from > 0 || part.end >= 0) {
      std::string range = "bytes=" + std::to_string(from) + "-";
      if (part.end >= 0) range += std::to_string(part.end - 1);
      request.headers.push_back({"Range", range});
      if (!validator.empty()) request.headers.push_back({"If-Range", validator});
    }
    net::HttpCallOptions call;
    call.connect_timeout = options_.connect_timeout;
    call.first_byte_timeout = options_.stall_timeout;
    call.idle_timeout = options_.stall_timeout;
    call.max_body_bytes = std::numeric_limits<int64_t>::max();
    call.cancel = cancel_;

    auto ex = std::make_shared<Exchange>();
    auto mu = std::make_shared<std::mutex>();
    auto cv = std::make_shared<std::condition_variable>();
    auto finished = std::make_shared<bool>(false);
    auto writing = std::make_shared<bool>(false);
    net::HttpStreamHandlers handlers;
    handlers.on_head = [ex, writing, from, index](const net::HttpResponseHead& head) {
      ex->status = head.status;
      if (auto v = head.Header("location")) ex->location = std::string(*v);
      if (auto v = head.Header("x-linked-etag")) {
        std::string etag(*v);
        if (etag.rfind("W/", 0) == 0) etag.erase(0, 2);
        if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
        ex->linked_etag = etag;
      }
      if (auto v = head.Header("x-linked-size")) {
        try {
          ex->linked_size = std::stoll(std::string(*v));
        } catch (const std::exception&) {
        }
      }
      if (auto v = head.Header("x-repo-commit")) ex->repo_commit = std::string(*v);
      if (auto etag = head.Header("etag"); etag && etag->rfind("W/", 0) != 0) {
        ex->validator = std::string(*etag);
      } else if (auto modified = head.Header("last-modified")) {
        ex->validator = std::string(*modified);
      }
      ex->retry_after = net::UpstreamRetryDelay(
          [&head](std::string_view name) { return head.Header(name); },
          std::chrono::system_clock::now());
      if (head.status == 206) {
        auto range = head.Header("content-range");
        auto parsed = range ? ParseContentRange(*range) : std::nullopt;
        if (!parsed || parsed->first != from) {
          ex->range_ignored = true;
          return;
        }
        ex->total = parsed->second;
        *writing = true;
      } else if (head.status == 200) {
        if (from > 0 || index > 0) {
          ex->range_ignored = true;
          return;
        }
        if (auto length = head.Header("content-length")) {
          try {
            ex->total = std::stoll(std::string(*length));
          } catch (const std::exception&) {
          }
        }
        *writing = true;
      }
    };
    handlers.on_data = [this, ex, writing, from, index, part](std::string_view chunk) {
      if (!*writing) {
        if (ex->range_ignored) return false;
        if (ex->body.size() < 4096) ex->body.append(chunk.substr(0, 4096 - ex->body.size()));
        return true;
      }
      if (failed_.load()) return false;
      // Never past the range's end: a server that sends more is cut off.
      if (part.end >= 0 && from + ex->written + static_cast<int64_t>(chunk.size()) > part.end) {
        chunk = chunk.substr(0, static_cast<size_t>(part.end - from - ex->written));
      }
      const char* data = chunk.data();
      size_t left = chunk.size();
      while (left > 0) {
        ssize_t n = ::pwrite(fd_, data, left, from + ex->written);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          ex->transport = errno == ENOSPC ? ResourceExhaustedError(spec_.partial + ": disk full")
                                          : InternalError(spec_.partial + ": " + std::strerror(errno));
          return false;
        }
        data += n;
        left -= static_cast<size_t>(n);
        ex->written += n;
        AddProgress(index, n);
      }
      return part.end < 0 || from + ex->written < part.end;
    };
    handlers.on_done = [ex, mu, cv, finished](Status status) {
      if (ex->transport.ok()) ex->transport = std::move(status);
      std::lock_guard<std::mutex> lock(*mu);
      *finished = true;
      cv->notify_all();
    };
    options_.client->Stream(std::move(request), call, std::move(handlers));
    std::unique_lock<std::mutex> lock(*mu);
    cv->wait(lock, [&] { return *finished; });
    return std::move(*ex);
  }

  // Waits `wait`, or less when cancelled. False when cancelled.
  bool Sleep(milliseconds wait) {
    auto mu = std::make_shared<std::mutex>();
    auto cv = std::make_shared<std::condition_variable>();
    uint64_t key = cancel_->OnCancel([mu, cv] {
      std::lock_guard<std::mutex> lock(*mu);
      cv->notify_all();
    });
    {
      std::unique_lock<std::mutex> lock(*mu);
      cv->wait_for(lock, wait, [&] { return cancel_->cancelled() || failed_.load(); });
    }
    cancel_->Forget(key);
    return !cancel_->cancelled();
  }

  Status RunPart(size_t index) {
    net::Url url = spec_.url;
    bool same_host = true;
    int redirects = 0;
    int attempts = 0;  // in a row, without a byte of progress
    std::mt19937_64 rng(std::random_device{}());
    Status last;
    for (;;) {
      if (cancel_->cancelled()) return CancelledError("download of " + spec_.url.ToString() + " cancelled");
      if (failed_.load()) return CancelledError("another range of the download failed");
      Part part;
      {
        std::lock_guard<std::mutex> lock(mu_);
        part = sidecar_.parts[index];
      }
      if (part.end >= 0 && part.start + part.done >= part.end) return OkStatus();

      Exchange ex = Fetch(index, url, same_host);
      if (ex.transport.code() == StatusCode::kCancelled) {
        return CancelledError("download of " + spec_.url.ToString() + " cancelled");
      }
      if (ex.transport.code() == StatusCode::kResourceExhausted ||
          ex.transport.code() == StatusCode::kInternal) {
        return ex.transport;
      }
      if (ex.range_ignored) {
        return AbortedError("the server did not resume " + spec_.url.ToString());
      }
      std::optional<milliseconds> asked;
      if (ex.status >= 300 && ex.status < 400 && !ex.location.empty()) {
        if (++redirects > kMaxRedirects) {
          return InvalidArgumentError("too many redirects from " + spec_.url.ToString());
        }
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (spec_.expected_sha256.empty() && IsSha256Hex(ex.linked_etag)) {
            spec_.expected_sha256 = ex.linked_etag;
          }
          if (spec_.expected_size < 0 && ex.linked_size >= 0) spec_.expected_size = ex.linked_size;
          if (!ex.repo_commit.empty()) result_.commit = ex.repo_commit;
        }
        MODELRT_ASSIGN_OR_RETURN(net::Url next, ResolveLocation(url, ex.location));
        if (next.host != url.host || next.port != url.port) same_host = false;
        url = std::move(next);
        continue;
      }
      if (ex.status == 200 || ex.status == 206) {
        std::lock_guard<std::mutex> lock(mu_);
        if (!ex.repo_commit.empty()) result_.commit = ex.repo_commit;
        Part& p = sidecar_.parts[index];
        if (sidecar_.validator.empty() && !ex.validator.empty()) sidecar_.validator = ex.validator;
        if (p.end < 0 && ex.total >= 0) {
          // The first answer tells the size of a file whose size was not known.
          p.end = ex.total;
          sidecar_.size = ex.total;
        }
        if (ex.transport.ok() && (p.end < 0 || p.start + p.done >= p.end)) {
          if (p.end < 0) {
            p.end = p.start + p.done;
            sidecar_.size = p.end;
          }
          return OkStatus();
        }
        last = ex.transport.ok() ? UnavailableError("the answer ended early") : ex.transport;
      } else if (ex.status == 0) {
        last = ex.transport;
      } else if (ex.status == 416) {
        return AbortedError("the server refused the range of " + spec_.url.ToString());
      } else if (net::IsRetryableStatus(ex.status)) {
        last = UnavailableError("HTTP " + std::to_string(ex.status));
        asked = ex.retry_after;
      } else {
        std::string message = "HTTP " + std::to_string(ex.status) + " from " + url.HostHeader() +
                              " for " + spec_.url.ToString();
        if (ex.status == 404) return NotFoundError(message);
        if (ex.status == 401 || ex.status == 403) {
          return PermissionDeniedError(message + " (check HF_TOKEN)");
        }
        return FailedPreconditionError(message);
      }
      attempts = ex.written > 0 ? 1 : attempts + 1;
      if (attempts >= options_.max_attempts) {
        return UnavailableError("download of " + spec_.url.ToString() + " failed " +
                                std::to_string(attempts) + " times in a row: " + last.message());
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++result_.retries;
      }
      milliseconds wait = asked ? *asked
                                : net::Backoff(attempts, {options_.initial_backoff, options_.max_backoff}, rng);
      wait = std::min(wait, options_.max_backoff);
      if (!Sleep(wait)) return CancelledError("download of " + spec_.url.ToString() + " cancelled");
      url = spec_.url;  // a CDN's signed URL may have expired: ask the origin again
      same_host = true;
      redirects = 0;
    }
  }

  DownloadSpec spec_;
  DownloadOptions options_;
  DownloadProgressFn progress_;
  std::shared_ptr<CancelSignal> cancel_;
  std::mutex mu_;
  Sidecar sidecar_;       // under mu_ while parts run
  int64_t saved_at_ = 0;  // under mu_
  std::mutex progress_mu_;
  std::atomic<int64_t> done_{0};
  std::atomic<int64_t> reported_{0};
  std::atomic<bool> failed_{false};
  int fd_ = -1;
  // The hashing thread follows the file's contiguous prefix on disk ([0, hashed_)), reading it
  // back from the page cache while the rest arrives, so the digest is ready when the last byte
  // is; hasher_, hashed_ and hash_error_ are its own until StopHashing joins it.
  std::thread hash_thread_;
  std::mutex hash_mu_;
  std::condition_variable hash_cv_;
  bool hash_stop_ = false;  // under hash_mu_
  Sha256 hasher_;
  int64_t hashed_ = 0;
  Status hash_error_;
  DownloadResult result_;
};

// Downloads in flight, by partial path: a second caller waits for the first one's result.
struct Flight {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::optional<Result<DownloadResult>> result;
};

std::mutex flights_mu;
std::map<std::string, std::shared_ptr<Flight>>& Flights() {
  static auto* flights = new std::map<std::string, std::shared_ptr<Flight>>();
  return *flights;
}

}  // namespace

Result<DownloadResult> DownloadFile(const DownloadSpec& spec, const DownloadOptions& options,
                                    const DownloadProgressFn& progress,
                                    const std::shared_ptr<CancelSignal>& cancel) {
  for (;;) {
    std::shared_ptr<Flight> flight;
    bool leader = false;
    {
      std::lock_guard<std::mutex> lock(flights_mu);
      auto [it, inserted] = Flights().emplace(spec.partial, nullptr);
      if (inserted) it->second = std::make_shared<Flight>();
      flight = it->second;
      leader = inserted;
    }
    if (!leader) {
      std::unique_lock<std::mutex> lock(flight->mu);
      // Polled: the follower's own cancel signal does not know this condition variable.
      while (!flight->done && !(cancel && cancel->cancelled())) {
        flight->cv.wait_for(lock, std::chrono::milliseconds(100));
      }
      if (!flight->done) return CancelledError("download of " + spec.url.ToString() + " cancelled");
      Result<DownloadResult> shared = *flight->result;
      // The leader's caller gave up, not this one: take the download over from its bytes.
      if (!shared.ok() && shared.error().code() == StatusCode::kCancelled) continue;
      if (shared.ok()) shared->shared = true;
      return shared;
    }
    Result<DownloadResult> result = Download(spec, options, progress, cancel).Run();
    {
      std::lock_guard<std::mutex> lock(flights_mu);
      Flights().erase(spec.partial);
    }
    {
      std::lock_guard<std::mutex> lock(flight->mu);
      flight->result = result;
      flight->done = true;
    }
    flight->cv.notify_all();
    return result;
  }
}

}  // namespace modelrt::store
