// `modelrt pull` and `modelrt store ...`; see store_verbs.h.
#include "cli/store_verbs.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/cli_runtime.h"
#include "cli/human_format.h"
#include "cli/table.h"
#include "core/json.h"
#include "store/catalog_models.h"
#include "store/confined_path.h"

namespace modelrt::cli {
namespace {

using Clock = std::chrono::steady_clock;

Result<Config> ConfigFor(const std::string& path) {
  if (path.empty()) return Config{};
  return LoadCliConfig(path);
}

Result<std::shared_ptr<store::ModelStore>> OpenStore(const std::string& config_path) {
  MODELRT_ASSIGN_OR_RETURN(Config config, ConfigFor(config_path));
  return store::ModelStore::Open(store::StoreOptionsFor(config));
}

// "owner/repo[@rev]" -> name, revision.
std::pair<std::string, std::string> SplitBundle(const std::string& text) {
  size_t at = text.find('@');
  if (at == std::string::npos) return {text, "main"};
  return {text.substr(0, at), text.substr(at + 1)};
}

// Progress for people: one redrawn line on a terminal, a line per file and per 10 % otherwise.
class PullReporter {
 public:
  PullReporter() : tty_(::isatty(STDERR_FILENO) == 1), start_(Clock::now()) {}
  void operator()(const store::PullProgress& p) {
    const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    const double rate = seconds > 0 ? static_cast<double>(p.bytes_done) / seconds : 0;
    std::string line = std::to_string(p.files_done) + "/" + std::to_string(p.files_total) +
                       " files  " + FormatMiB(p.bytes_done);
    if (p.bytes_total >= 0) line += " / " + FormatMiB(p.bytes_total);
    line += "  " + FormatMiB(static_cast<int64_t>(rate)) + "/s";
    if (p.bytes_total > 0 && rate > 0 && p.bytes_done < p.bytes_total) {
      line += "  ETA " + FormatDurationMs(static_cast<int64_t>(
                             1000.0 * static_cast<double>(p.bytes_total - p.bytes_done) / rate));
    }
    if (!p.file.empty()) line += "  " + p.file;
    if (tty_) {
      const auto now = Clock::now();
      if (now - drawn_ < std::chrono::milliseconds(100) && p.files_done != p.files_total) return;
      drawn_ = now;
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
      return;
    }
    int tenth = p.bytes_total > 0 ? static_cast<int>(10 * p.bytes_done / p.bytes_total) : 0;
    if (p.files_done != files_shown_ || tenth != tenth_shown_) {
      files_shown_ = p.files_done;
      tenth_shown_ = tenth;
      std::fprintf(stderr, "%s\n", line.c_str());
    }
  }
  void Done() {
    if (tty_) std::fprintf(stderr, "\n");
  }

 private:
  bool tty_;
  Clock::time_point start_;
  Clock::time_point drawn_{};
  int files_shown_ = -1;
  int tenth_shown_ = -1;
};

}  // namespace

StoreVerbs::StoreVerbs(CLI::App& app) {
  pull_ = app.add_subcommand("pull", "download a model bundle into the local store");
  pull_->add_option("ref", ref_, "hf://owner/repo[@rev][/file], an https:// URL, or a local path")
      ->required();
  pull_->add_option("-f,--file", files_,
                    "file or glob to pull (repeatable): name (required), ?name (optional), "
                    "a|b (the first that exists); default: every file");
  pull_->add_option("--name", name_, "bundle name for a URL or local source (owner/name)");
  pull_->add_option("--revision", revision_, "revision for a URL or local source (default main)");
  pull_->add_option("--sha256", sha256_, "expected sha256 of a URL source");
  pull_->add_option("--task", task_, "embed|rerank|generate, recorded in the manifest")
      ->check(CLI::IsMember({"embed", "rerank", "generate"}));
  pull_->add_flag("--link", link_, "hard-link a local source's files instead of copying");
  pull_->add_option("-c,--config", config_path_, "config file (its store section); default store");
  pull_->add_flag("--json", json_, "print the manifest as JSON");

  store_ = app.add_subcommand("store", "list, verify or remove bundles in the local store");
  store_->require_subcommand(1);
  store_->add_option("-c,--config", config_path_, "config file (its store section)");
  store_->add_flag("--json", json_, "machine-readable output");
  list_ = store_->add_subcommand("list", "bundles, their files and sizes");
  verify_ = store_->add_subcommand("verify", "re-hash a bundle's files against its manifest");
  verify_->add_option("bundle", bundle_, "owner/repo[@rev]")->required();
  rm_ = store_->add_subcommand("rm", "remove a bundle (and files no other bundle uses)");
  rm_->add_option("bundle", bundle_, "owner/repo[@rev]")->required();
}

std::optional<int> StoreVerbs::RunParsed() {
  Status status;
  if (pull_->parsed()) {
    status = Pull();
  } else if (list_->parsed()) {
    status = List();
  } else if (verify_->parsed()) {
    status = Verify();
  } else if (rm_->parsed()) {
    status = Remove();
  } else {
    return std::nullopt;
  }
  if (status.ok()) return 0;
  std::fprintf(stderr, "modelrt: error: %s\n", status.ToString().c_str());
  return status.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

Status StoreVerbs::Pull() {
  MODELRT_ASSIGN_OR_RETURN(auto model_store, OpenStore(config_path_));
  store::PullRequest request;
  request.source = ref_;
  request.name = name_;
  request.revision = revision_;
  request.sha256 = sha256_;
  request.task = task_;
  request.link = link_;
  for (const std::string& text : files_) {
    store::FileRequest file;
    std::string body = text;
    if (!body.empty() && body[0] == '?') {
      file.kind = store::FileRequest::Kind::kOptional;
      body.erase(0, 1);
    } else if (body.find('|') != std::string::npos) {
      file.kind = store::FileRequest::Kind::kFirstAvailable;
    }
    size_t start = 0;
    while (start <= body.size()) {
      size_t bar = body.find('|', start);
      if (bar == std::string::npos) bar = body.size();
      std::string name = body.substr(start, bar - start);
      if (Status s = store::CheckRelativePath(name); !s.ok()) {
        return InvalidArgumentError("--file '" + text + "': " + s.message());
      }
      file.names.push_back(name);
      start = bar + 1;
    }
    request.files.push_back(std::move(file));
  }
  PullReporter reporter;
  store::PullStats stats;
  Result<store::BundleManifest> manifest =
      model_store->Pull(request, [&](const store::PullProgress& p) { reporter(p); }, nullptr, &stats);
  reporter.Done();
  MODELRT_RETURN_IF_ERROR(manifest.status());
  if (json_) {
    std::cout << store::ManifestToJson(*manifest).dump(2) << "\n";
    return OkStatus();
  }
  std::cout << "pulled " << manifest->name << "@" << manifest->revision
            << (manifest->commit.empty() ? "" : " (" + manifest->commit.substr(0, 12) + ")") << ": "
            << manifest->files.size() << " files, " << FormatMiB(manifest->TotalBytes()) << " ("
            << FormatMiB(stats.bytes_downloaded) << " downloaded, " << stats.files_reused
            << " already in the store)\n"
            << "use it as model: store://" << manifest->name << "@" << manifest->revision << "/"
            << (manifest->files.empty() ? "" : manifest->files[0].path) << "\n";
  return OkStatus();
}

Status StoreVerbs::List() {
  MODELRT_ASSIGN_OR_RETURN(auto model_store, OpenStore(config_path_));
  std::vector<store::BundleManifest> bundles = model_store->List();
  if (json_) {
    Json out = Json::array();
    for (const auto& m : bundles) out.push_back(store::ManifestToJson(m));
    std::cout << out.dump(2) << "\n";
    return OkStatus();
  }
  Table table({"BUNDLE", "REVISION", "COMMIT", "FILES", "SIZE", "TASK"});
  table.AlignRight(3);
  table.AlignRight(4);
  for (const auto& m : bundles) {
    table.AddRow({m.name, m.revision, m.commit.substr(0, 12), std::to_string(m.files.size()),
                  FormatMiB(m.TotalBytes()), m.task});
  }
  std::cout << table.Render();
  return OkStatus();
}

Status StoreVerbs::Verify() {
  MODELRT_ASSIGN_OR_RETURN(auto model_store, OpenStore(config_path_));
  auto [name, revision] = SplitBundle(bundle_);
  MODELRT_ASSIGN_OR_RETURN(store::VerifyReport report, model_store->Verify(name, revision));
  for (const std::string& problem : report.problems) std::cout << problem << "\n";
  if (!report.ok()) {
    return FailedPreconditionError(name + "@" + revision + ": " +
                                   std::to_string(report.problems.size()) + " of " +
                                   std::to_string(report.files_checked) + " files are damaged");
  }
  std::cout << name << "@" << revision << ": " << report.files_checked << " files verified\n";
  return OkStatus();
}

Status StoreVerbs::Remove() {
  MODELRT_ASSIGN_OR_RETURN(auto model_store, OpenStore(config_path_));
  auto [name, revision] = SplitBundle(bundle_);
  MODELRT_RETURN_IF_ERROR(model_store->Remove(name, revision));
  std::cout << "removed " << name << "@" << revision << "\n";
  return OkStatus();
}

}  // namespace modelrt::cli
