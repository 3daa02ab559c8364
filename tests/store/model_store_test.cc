// The model store against a local hub (tests/support/hub_server.h): pulls that pick files,
// follow the CDN redirect, resume, retry, verify, share blobs and refuse unsafe paths.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "core/sha256.h"
#include "store/confined_path.h"
#include "store/model_store.h"
#include "support/hub_server.h"

namespace modelrt::store {
namespace {

namespace fs = std::filesystem;
using ::modelrt::testing::HubServer;
using ::modelrt::testing::UpstreamReply;
using ::modelrt::testing::UpstreamRequestSeen;
using ::testing::HasSubstr;

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ModelStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("modelrt-store-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    weights_ = RandomBytes(300'000, 1);
    hub_.AddRepo("acme/tiny", "0123456789abcdef0123456789abcdef01234567",
                 {{"config.json", R"({"hidden_size": 8})"},
                  {"model.gguf", weights_},
                  {"tokenizer.json", R"({"model": {}})"},
                  {"README.md", "# tiny"}});
  }
  void TearDown() override { fs::remove_all(root_); }

  std::shared_ptr<ModelStore> Open(int64_t parallel_threshold = int64_t{64} << 20) {
    StoreOptions options;
    options.root = root_.string();
    options.hub.endpoint = hub_.url();
    options.hub.token = "hf_secret_token";
    options.download.parallel_threshold = parallel_threshold;
    options.download.initial_backoff = std::chrono::milliseconds(10);
    options.download.max_backoff = std::chrono::milliseconds(1500);
    options.download.stall_timeout = std::chrono::milliseconds(2000);
    Result<std::shared_ptr<ModelStore>> store = ModelStore::Open(options);
    EXPECT_TRUE(store.ok()) << store.error().ToString();
    return *store;
  }

  int CountFiles(const std::string& dir) {
    int n = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root_ / dir, ec); !ec && it != fs::recursive_directory_iterator(); ++it) {
      if (it->is_regular_file()) ++n;
    }
    return n;
  }

  fs::path root_;
  std::string weights_;
  HubServer hub_;
};

PullRequest HubPull(std::vector<FileRequest> files = {}) {
  PullRequest request;
  request.source = "hf://acme/tiny@main";
  request.files = std::move(files);
  request.task = "generate";
  return request;
}

TEST_F(ModelStoreTest, PullsRequestedFilesThroughTheCdnAndResolvesThem) {
  auto store = Open();
  Result<std::vector<FileRequest>> files = ParseFileRequests(Json::parse(
      R"(["*.gguf", {"optional": "missing.bin"}, {"first_available": ["vocab.txt", "tokenizer.json"]}, "config.json"])"));
  ASSERT_TRUE(files.ok()) << files.error().ToString();
  std::vector<PullProgress> seen;
  Result<BundleManifest> m = store->Pull(HubPull(*files), [&](const PullProgress& p) { seen.push_back(p); }, nullptr);
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  EXPECT_EQ(m->name, "acme/tiny");
  EXPECT_EQ(m->commit, "0123456789abcdef0123456789abcdef01234567");
  ASSERT_EQ(m->files.size(), 3u);  // not README.md, not missing.bin
  const ManifestFile* gguf = m->FindFile("model.gguf");
  ASSERT_NE(gguf, nullptr);
  EXPECT_EQ(gguf->role, "weights");
  EXPECT_EQ(gguf->size, 300'000);
  EXPECT_EQ(gguf->sha256, Sha256Hex(weights_));
  EXPECT_EQ(m->FindFile("tokenizer.json")->role, "tokenizer");
  EXPECT_EQ(m->FindFile("config.json")->role, "config");
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().files_done, 3);
  EXPECT_EQ(seen.back().bytes_done, seen.back().bytes_total);

  Result<std::string> path = store->Resolve("store://acme/tiny@main/model.gguf");
  ASSERT_TRUE(path.ok()) << path.error().ToString();
  EXPECT_EQ(ReadAll(*path), weights_);
  EXPECT_EQ(*store->Resolve("store://acme/tiny/model.gguf"), *path);  // main by default
  EXPECT_EQ(store->Resolve("store://acme/tiny@main/README.md").error().code(), StatusCode::kNotFound);
  EXPECT_THAT(store->Resolve("store://acme/other@main").error().message(), HasSubstr("modelrt pull"));

  // The token went to the hub, never to the CDN the hub redirected to.
  ASSERT_FALSE(hub_.cdn_requests().empty());
  for (const UpstreamRequestSeen& r : hub_.cdn_requests()) EXPECT_EQ(r.Header("authorization"), "");
  for (const UpstreamRequestSeen& r : hub_.hub_requests()) {
    EXPECT_EQ(r.Header("authorization"), "Bearer hf_secret_token");
  }
  // Files come from the listed commit, not the moving branch.
  for (const UpstreamRequestSeen& r : hub_.hub_requests()) {
    if (r.target.find("/resolve/") != std::string::npos) EXPECT_THAT(r.target, HasSubstr("/resolve/0123456789abcdef"));
  }
}

TEST_F(ModelStoreTest, MissingRequiredFileIsNotFoundAndInstallsNothing) {
  auto store = Open();
  Result<BundleManifest> m = store->Pull(HubPull({{FileRequest::Kind::kRequired, {"model.onnx"}}}), nullptr, nullptr);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code(), StatusCode::kNotFound);
  EXPECT_THAT(m.error().message(), HasSubstr("model.onnx"));
  EXPECT_TRUE(store->List().empty());
  Result<BundleManifest> none = store->Pull(
      HubPull({{FileRequest::Kind::kFirstAvailable, {"a.onnx", "b.onnx"}}}), nullptr, nullptr);
  EXPECT_THAT(none.error().message(), HasSubstr("none of a.onnx, b.onnx"));
  PullRequest unknown = HubPull();
  unknown.source = "hf://acme/nope@main";
  EXPECT_EQ(store->Pull(unknown, nullptr, nullptr).error().code(), StatusCode::kNotFound);
}

TEST_F(ModelStoreTest, BodyCutShortIsResumedWithARange) {
  auto store = Open();
  std::atomic<int> cut{0};
  hub_.SetFault([&](const UpstreamRequestSeen& r, int) -> std::optional<UpstreamReply> {
    if (r.target.rfind("/cdn/", 0) == 0 && cut.fetch_add(1) == 0) {
      UpstreamReply reply;
      reply.status = 200;
      reply.headers = {{"ETag", "\"" + Sha256Hex(weights_) + "\""}};
      reply.body = weights_;
      reply.fault = UpstreamReply::Fault::kCloseMidBody;  // half the body, then the connection drops
      return reply;
    }
    return std::nullopt;
  });
  PullStats stats;
  Result<BundleManifest> m = store->Pull(HubPull({{FileRequest::Kind::kRequired, {"model.gguf"}}}), nullptr, nullptr, &stats);
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  EXPECT_EQ(ReadAll(*store->Resolve("store://acme/tiny@main/model.gguf")), weights_);
  std::vector<UpstreamRequestSeen> cdn = hub_.cdn_requests();
  ASSERT_GE(cdn.size(), 2u);
  EXPECT_EQ(cdn[0].Header("range"), "bytes=0-299999");  // the listing told the size
  EXPECT_EQ(cdn[1].Header("range"), "bytes=150000-299999");
  EXPECT_EQ(cdn[1].Header("if-range"), "\"" + Sha256Hex(weights_) + "\"");
  EXPECT_GE(stats.retries, 1);
}

TEST_F(ModelStoreTest, ResumesAcrossCallsFromTheBytesOnDisk) {
  auto store = Open();
  hub_.SetSlow(10'000, std::chrono::milliseconds(20));  // 300 KB in ~0.6 s
  auto cancel = std::make_shared<CancelSignal>();
  // Stopped once some bytes are on disk, as a kill would.
  auto stop_midway = [&](const PullProgress& p) {
    if (p.bytes_done >= 50'000) cancel->Cancel();
  };
  Result<BundleManifest> first =
      store->Pull(HubPull({{FileRequest::Kind::kRequired, {"model.gguf"}}}), stop_midway, cancel);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code(), StatusCode::kCancelled);
  EXPECT_TRUE(store->List().empty());  // nothing half-installed
  hub_.SetSlow(0, std::chrono::milliseconds(0));
  PullStats stats;
  Result<BundleManifest> second = store->Pull(HubPull({{FileRequest::Kind::kRequired, {"model.gguf"}}}), nullptr, nullptr, &stats);
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_GT(stats.bytes_resumed, 0);
  EXPECT_EQ(stats.bytes_resumed + stats.bytes_downloaded, 300'000);
  EXPECT_EQ(ReadAll(*store->Resolve("store://acme/tiny@main/model.gguf")), weights_);
  EXPECT_EQ(CountFiles(".partial"), 0);
}

TEST_F(ModelStoreTest, Sha256MismatchIsRefusedAndNothingIsInstalled) {
  auto store = Open();
  hub_.LieAboutSha256("acme/tiny", "model.gguf", std::string(64, 'a'));
  // X-Linked-Etag carries the truth; the listing's digest is what we were promised and checked.
  Result<BundleManifest> m = store->Pull(HubPull({{FileRequest::Kind::kRequired, {"model.gguf"}}}), nullptr, nullptr);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(m.error().message(), HasSubstr("sha256 mismatch"));
  EXPECT_TRUE(store->List().empty());
  EXPECT_EQ(CountFiles(".blobs"), 0);
  EXPECT_EQ(CountFiles(".partial"), 0);
}

TEST_F(ModelStoreTest, RetriesTooManyRequestsHonouringRetryAfter) {
  auto store = Open();
  std::atomic<int> refused{0};
  hub_.SetFault([&](const UpstreamRequestSeen& r, int) -> std::optional<UpstreamReply> {
    if (r.target.find("/resolve/") != std::string::npos && refused.fetch_add(1) < 2) {
      UpstreamReply reply = r.target.find("config") != std::string::npos
                                ? UpstreamReply::Json(503, "{}")
                                : UpstreamReply::Json(429, R"({"error":"slow down"})");
      reply.headers.push_back({"Retry-After", "1"});
      return reply;
    }
    return std::nullopt;
  });
  Result<BundleManifest> m = store->Pull(HubPull({{FileRequest::Kind::kRequired, {"config.json"}}}), nullptr, nullptr);
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  EXPECT_EQ(refused.load(), 3);
}

TEST_F(ModelStoreTest, GivesUpAfterMaxAttemptsAndRefusesForbidden) {
  auto store = Open();
  hub_.SetFault([&](const UpstreamRequestSeen& r, int) -> std::optional<UpstreamReply> {
    if (r.target.find("config") != std::string::npos) return UpstreamReply::Json(500, "{}");
    if (r.target.find("tokenizer") != std::string::npos) return UpstreamReply::Json(403, "{}");
    return std::nullopt;
  });
  Result<BundleManifest> m = store->Pull(HubPull({{FileRequest::Kind::kRequired, {"config.json"}}}), nullptr, nullptr);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code(), StatusCode::kUnavailable);
  EXPECT_THAT(m.error().message(), HasSubstr("5 times"));
  Result<BundleManifest> forbidden =
      store->Pull(HubPull({{FileRequest::Kind::kRequired, {"tokenizer.json"}}}), nullptr, nullptr);
  EXPECT_EQ(forbidden.error().code(), StatusCode::kPermissionDenied);
}

TEST_F(ModelStoreTest, LargeFilesComeInParallelRanges) {
  auto store = Open(/*parallel_threshold=*/64 << 10);
  Result<BundleManifest> m = store->Pull(HubPull({{FileRequest::Kind::kRequired, {"model.gguf"}}}), nullptr, nullptr);
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  EXPECT_EQ(ReadAll(*store->Resolve("store://acme/tiny@main/model.gguf")), weights_);
  std::vector<std::string> ranges;
  for (const UpstreamRequestSeen& r : hub_.cdn_requests()) ranges.push_back(r.Header("range"));
  std::sort(ranges.begin(), ranges.end());
  EXPECT_THAT(ranges, ::testing::ElementsAre("bytes=0-74999", "bytes=150000-224999", "bytes=225000-299999",
                                             "bytes=75000-149999"));
}

TEST_F(ModelStoreTest, ConcurrentPullsOfOneFileShareOneDownload) {
  auto store = Open();
  hub_.SetSlow(30'000, std::chrono::milliseconds(20));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      if (store->Pull(HubPull({{FileRequest::Kind::kRequired, {"model.gguf"}}}), nullptr, nullptr).ok()) ++ok;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 3);
  EXPECT_EQ(hub_.cdn_requests().size(), 1u);
  EXPECT_EQ(CountFiles(".blobs"), 1);
}

TEST_F(ModelStoreTest, IdenticalFilesAreStoredOnceAndCollectedWhenUnused) {
  auto store = Open();
  fs::path local = root_.string() + "-local";
  fs::create_directories(local / "onnx");
  std::ofstream(local / "onnx" / "model.onnx", std::ios::binary) << weights_;
  std::ofstream(local / "config.json") << "{}";
  ASSERT_TRUE(store->Pull(HubPull({{FileRequest::Kind::kRequired, {"model.gguf"}}}), nullptr, nullptr).ok());
  PullRequest copy;
  copy.source = local.string();
  copy.name = "me/local";
  Result<BundleManifest> m = store->Pull(copy, nullptr, nullptr);
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  EXPECT_EQ(m->files.size(), 2u);
  EXPECT_EQ(m->FindFile("onnx/model.onnx")->role, "weights");
  EXPECT_EQ(ReadAll(*store->Resolve("store://me/local@main/onnx/model.onnx")), weights_);
  EXPECT_EQ(*store->Resolve("store://me/local@main/onnx"), store->BundleDir("me/local", "main") + "/files/onnx");
  EXPECT_EQ(CountFiles(".blobs"), 2);  // the weights once, config.json once
  ASSERT_EQ(store->List().size(), 2u);

  ASSERT_TRUE(store->Remove("acme/tiny", "main").ok());
  EXPECT_EQ(CountFiles(".blobs"), 2);  // still linked by me/local
  ASSERT_TRUE(store->Remove("me/local", "main").ok());
  EXPECT_EQ(CountFiles(".blobs"), 0);
  EXPECT_EQ(store->Remove("me/local", "main").code(), StatusCode::kNotFound);
  fs::remove_all(local);
}

TEST_F(ModelStoreTest, UrlSourceNeedsItsSha256) {
  auto store = Open();
  PullRequest url;
  url.source = hub_.cdn_url() + "/cdn/" + Sha256Hex(weights_);
  Result<BundleManifest> refused = store->Pull(url, nullptr, nullptr);
  EXPECT_EQ(refused.error().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.error().message(), HasSubstr("sha256"));
  url.sha256 = Sha256Hex(weights_);
  url.name = "me/blob";
  Result<BundleManifest> m = store->Pull(url, nullptr, nullptr);
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  EXPECT_EQ(m->files.at(0).sha256, url.sha256);
}

TEST_F(ModelStoreTest, VerifyFindsATamperedFile) {
  auto store = Open();
  ASSERT_TRUE(store->Pull(HubPull({{FileRequest::Kind::kRequired, {"config.json"}}}), nullptr, nullptr).ok());
  Result<VerifyReport> clean = store->Verify("acme/tiny", "main");
  ASSERT_TRUE(clean.ok());
  EXPECT_TRUE(clean->ok());
  std::string path = *store->Resolve("store://acme/tiny@main/config.json");
  ::chmod(path.c_str(), 0644);
  std::ofstream(path) << "tampered";
  Result<VerifyReport> dirty = store->Verify("acme/tiny", "main");
  ASSERT_EQ(dirty->problems.size(), 1u);
  EXPECT_THAT(dirty->problems[0], HasSubstr("sha256 mismatch"));
}

TEST_F(ModelStoreTest, CancelStopsADownloadPromptly) {
  auto store = Open();
  hub_.SetSlow(1000, std::chrono::milliseconds(50));  // would take 15 s
  auto cancel = std::make_shared<CancelSignal>();
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel->Cancel();
  });
  auto start = std::chrono::steady_clock::now();
  Result<BundleManifest> m = store->Pull(HubPull({{FileRequest::Kind::kRequired, {"model.gguf"}}}), nullptr, cancel);
  auto took = std::chrono::steady_clock::now() - start;
  canceller.join();
  EXPECT_EQ(m.error().code(), StatusCode::kCancelled);
  // Not a timing target: a cancel that waited for the whole file would take 15 s.
  EXPECT_LT(took, std::chrono::seconds(10));
}

TEST(StorePathsTest, UnsafePathsAreRefusedEverywhere) {
  for (const char* bad : {"", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a\\b"}) {
    EXPECT_FALSE(CheckRelativePath(bad).ok()) << bad;
  }
  EXPECT_TRUE(CheckRelativePath("onnx/model.onnx").ok());
  for (const char* bad : {"store://a/b@main/../x", "store://../b@main", "store://a/b@../../x/y", "store://a/b@", "store://a/b/c@main"}) {
    EXPECT_FALSE(ParseStoreRef(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseFileRequests(Json::parse(R"(["../secret"])")).ok());
  EXPECT_FALSE(ParseFileRequests(Json::parse(R"([{"first_available": ["ok", "/abs"]}])")).ok());
  EXPECT_FALSE(ParseFileRequests(Json::parse(R"([{"maybe": "x"}])")).ok());
  Json manifest = {{"name", "a/b"}, {"task", ""}, {"source", "x"}, {"revision", "main"}, {"commit", ""},
                   {"files", {{{"remote_path", "x"}, {"path", "../../etc/passwd"}, {"size", 1},
                               {"sha256", std::string(64, '0')}, {"role", "artifact"},
                               {"media_type", "text/plain"}}}}};
  Result<BundleManifest> parsed = ManifestFromJson(manifest);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.error().message(), HasSubstr("files[0].path"));

  // A symlink inside the root that points out of it is refused, not followed.
  fs::path root = fs::temp_directory_path() / ("modelrt-confine-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "in");
  fs::create_directory_symlink("/etc", root / "in" / "escape");
  EXPECT_EQ(ConfinedPath(root, "in/escape/passwd").error().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(ConfinedPath(root, "in/new/file").ok());
  fs::remove_all(root);
}

TEST_F(ModelStoreTest, AListingWithAnUnsafePathIsRefused) {
  hub_.AddRepo("evil/repo", "abc", {{"../../outside.txt", "x"}});
  auto store = Open();
  PullRequest request;
  request.source = "hf://evil/repo@main";
  Result<BundleManifest> m = store->Pull(request, nullptr, nullptr);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.error().message(), HasSubstr("unsafe path"));
  EXPECT_FALSE(fs::exists(root_.parent_path() / "outside.txt"));
}

}  // namespace
}  // namespace modelrt::store
