// Vertex AI against a local server that speaks its documented shapes (Gemini's generateContent
// under the project path, :predict for embeddings), with a Bearer token from a real command or
// file: fetched at creation, refreshed in the background once old, and again when refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/json.h"
#include "modelrt/provider.h"
#include "providers/remote/remote_settings.h"
#include "support/upstream_server.h"

namespace modelrt {
namespace {

using namespace std::chrono_literals;
using testing::UpstreamReply;
using testing::UpstreamRequestSeen;
using testing::UpstreamServer;

constexpr char kPath[] = "/v1/projects/p1/locations/europe-west4/publishers/google";

// Google's answer to an expired or wrong access token.
UpstreamReply Unauthenticated() {
  return UpstreamReply::Json(401, R"({"error":{"code":401,"message":"Request had invalid
      authentication credentials. Expected OAuth 2 access token.","status":"UNAUTHENTICATED"}})");
}

UpstreamReply OneEmbedding() {
  return UpstreamReply::Json(200, R"({"predictions":[{"embeddings":{"statistics":{"truncated":false,
      "token_count":3},"values":[0.5,0.25]}}],"metadata":{"billableCharacterCount":5}})");
}

Result<std::shared_ptr<Provider>> Vertex(const std::string& base_url, const std::string& options) {
  Json merged = Json::parse(options);
  merged["probe"] = false;
  return CreateProvider({.id = "vx",
                         .type = "vertex",
                         .base_url = base_url,
                         .options = *Options::Parse(merged.dump())});
}

template <typename M>
std::shared_ptr<M> LoadAs(Provider& provider, Task task, const std::string& model) {
  ModelSpec spec;
  spec.alias = "a";
  spec.task = task;
  spec.provider = "vx";
  spec.model = model;
  auto loaded = provider.Load(spec, CallContext::WithTimeout(5s));
  EXPECT_TRUE(loaded.ok()) << loaded.error().ToString();
  return loaded.ok() ? std::dynamic_pointer_cast<M>(*loaded) : nullptr;
}

class TempFile {
 public:
  explicit TempFile(const std::string& text)
      : path_(std::filesystem::temp_directory_path() /
              ("modelrt-vertex-" + std::to_string(::getpid()) + "-" + std::to_string(++count_))) {
    Write(text);
  }
  ~TempFile() { std::filesystem::remove(path_); }
  void Write(const std::string& text) const {
    // Written aside and renamed, as a token agent does: a reader never sees half a token.
    const std::string aside = path_.string() + ".new";
    std::ofstream(aside) << text;
    std::filesystem::rename(aside, path_);
  }
  std::string path() const { return path_.string(); }

 private:
  static inline int count_ = 0;
  std::filesystem::path path_;
};

TEST(VertexTest, GeminiShapesUnderTheProjectPathAndPredictForEmbeddings) {
  UpstreamServer server([](const UpstreamRequestSeen& r) {
    if (r.target.find(":predict") != std::string::npos) {
      return UpstreamReply::Json(200, R"({"predictions":[
          {"embeddings":{"statistics":{"truncated":false,"token_count":2},"values":[0.1,0.2]}},
          {"embeddings":{"statistics":{"truncated":false,"token_count":4},"values":[0.3,0.4]}}]})");
    }
    if (r.target.find(":streamGenerateContent") != std::string::npos) {
      return UpstreamReply::Sse(
          {"data: {\"candidates\": [{\"content\": {\"role\": \"model\",\"parts\": [{\"text\": \"Hel\"}]}}],\"usageMetadata\": {\"promptTokenCount\": 3}}\r\n\r\n",
           "data: {\"candidates\": [{\"content\": {\"role\": \"model\",\"parts\": [{\"text\": \"lo\"}]},\"finishReason\": \"STOP\"}],\"usageMetadata\": {\"promptTokenCount\": 3,\"candidatesTokenCount\": 2,\"totalTokenCount\": 5}}\r\n\r\n"});
    }
    return UpstreamReply::Json(200, R"({"candidates":[{"content":{"role":"model","parts":[{"text":"Hi"}]},
        "finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1},
        "modelVersion":"gemini-2.0-flash-001"})");
  });
  auto provider = Vertex(server.url() + kPath, R"({"token_command": "printf 'ya29.first\\n'"})");
  ASSERT_TRUE(provider.ok()) << provider.error().ToString();

  auto embedder = LoadAs<EmbeddingModel>(**provider, Task::kEmbed, "text-embedding-005");
  ASSERT_NE(embedder, nullptr);
  auto e = embedder->Embed({.inputs = {{.text = "a"}, {.text = "b"}},
                            .input_type = EmbedInputType::kQuery},
                           CallContext::WithTimeout(5s));
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  EXPECT_EQ(e->embeddings, (std::vector<std::vector<float>>{{0.1f, 0.2f}, {0.3f, 0.4f}}));
  EXPECT_EQ(e->prompt_tokens, 6);

  auto chat = LoadAs<GeneratorModel>(**provider, Task::kGenerate, "gemini-2.0-flash");
  ASSERT_NE(chat, nullptr);
  GenerateRequest request;
  request.messages = {{"system", "Be brief."}, {"user", "Hello"}};
  request.sampling.temperature = 0.5f;
  request.sampling.top_p = 1;
  request.max_tokens = 8;
  auto whole = chat->Generate(request, nullptr, CallContext::WithTimeout(5s));
  ASSERT_TRUE(whole.ok()) << whole.error().ToString();
  EXPECT_EQ(whole->text, "Hi");
  EXPECT_EQ(whole->completion_tokens, 1);
  std::string pieces;
  auto streamed = chat->Generate(request, [&](std::string_view p) { pieces += p; return true; },
                                 CallContext::WithTimeout(5s));
  ASSERT_TRUE(streamed.ok()) << streamed.error().ToString();
  EXPECT_EQ(pieces, "Hello");
  EXPECT_EQ(streamed->finish_reason, FinishReason::kStop);
  EXPECT_EQ(streamed->completion_tokens, 2);

  const auto seen = server.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].target, std::string(kPath) + "/models/text-embedding-005:predict");
  EXPECT_EQ(Json::parse(seen[0].body), Json::parse(R"({"instances":[
      {"content":"a","task_type":"RETRIEVAL_QUERY"},{"content":"b","task_type":"RETRIEVAL_QUERY"}]})"));
  EXPECT_EQ(seen[1].target, std::string(kPath) + "/models/gemini-2.0-flash:generateContent");
  EXPECT_EQ(Json::parse(seen[1].body), Json::parse(R"({"contents":[
      {"role":"user","parts":[{"text":"Hello"}]}],
      "systemInstruction":{"parts":[{"text":"Be brief."}]},
      "generationConfig":{"temperature":0.5,"topP":1.0,"topK":40,"maxOutputTokens":8}})"));
  EXPECT_EQ(seen[2].target,
            std::string(kPath) + "/models/gemini-2.0-flash:streamGenerateContent?alt=sse");
  for (const auto& r : seen) {
    EXPECT_EQ(r.Header("authorization"), "Bearer ya29.first");
    EXPECT_EQ(r.Header("x-goog-api-key"), "");
  }
}

TEST(VertexTest, TheBaseUrlComesFromProjectAndLocation) {
  auto read = [](const std::string& options) {
    return remote::ReadRemoteSettings(
        {.id = "vx", .type = "vertex", .options = *Options::Parse(options)},
        "https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}"
        "/publishers/google");
  };
  auto regional = read(R"({"project": "my-proj", "location": "us-east5"})");
  ASSERT_TRUE(regional.ok()) << regional.error().ToString();
  EXPECT_EQ(regional->base.ToString(),
            "https://us-east5-aiplatform.googleapis.com:443/v1/projects/my-proj/locations/us-east5"
            "/publishers/google");
  auto global = read(R"({"project": "my-proj", "location": "global"})");
  ASSERT_TRUE(global.ok()) << global.error().ToString();
  EXPECT_EQ(global->base.ToString(),
            "https://aiplatform.googleapis.com:443/v1/projects/my-proj/locations/global/publishers/google");
  auto fallback = read(R"({"project": "p"})");
  ASSERT_TRUE(fallback.ok());
  EXPECT_NE(fallback->base.ToString().find("us-central1-aiplatform"), std::string::npos);

  auto missing = CreateProvider({.id = "vx", .type = "vertex"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("options.project: required by provider type 'vertex'"),
            std::string::npos)
      << missing.error().message();
  auto odd = read(R"({"project": "a/../b"})");
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.error().message().find("not a Google Cloud name"), std::string::npos);
  auto elsewhere = CreateProvider({.id = "o",
                                   .type = "openai",
                                   .base_url = "http://127.0.0.1:9/v1",
                                   .options = *Options::Parse(R"({"project": "p"})")});
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_NE(elsewhere.error().message().find("options.project: unknown option"), std::string::npos)
      << elsewhere.error().message();
}

TEST(VertexTest, ARefusedTokenIsFetchedAgainAndTheCallSentOnceMore) {
  TempFile token("tok-1\n");
  UpstreamServer server([](const UpstreamRequestSeen& r) {
    return r.Header("authorization") == "Bearer tok-2" ? OneEmbedding() : Unauthenticated();
  });
  auto provider =
      Vertex(server.url() + kPath, Json{{"token_command", "cat '" + token.path() + "'"}}.dump());
  ASSERT_TRUE(provider.ok()) << provider.error().ToString();
  auto embedder = LoadAs<EmbeddingModel>(**provider, Task::kEmbed, "text-embedding-005");
  ASSERT_NE(embedder, nullptr);

  token.Write("tok-2\n");  // the old one expired; the command now prints a new one
  auto e = embedder->Embed({.inputs = {{.text = "hello"}}}, CallContext::WithTimeout(10s));
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  EXPECT_EQ(e->embeddings[0], (std::vector<float>{0.5f, 0.25f}));
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].Header("authorization"), "Bearer tok-1");
  EXPECT_EQ(seen[1].Header("authorization"), "Bearer tok-2");
}

TEST(VertexTest, AFailedRefreshAfterARefusalIsAnUpstreamAuthError) {
  TempFile token("tok-1");
  TempFile allowed("yes");
  UpstreamServer server([](const UpstreamRequestSeen&) { return Unauthenticated(); });
  // Prints the token while `allowed` exists, fails once it is gone.
  const std::string command = "test -e '" + allowed.path() + "' && cat '" + token.path() +
                              "' || { echo 'gcloud: not logged in' >&2; exit 1; }";
  auto provider = Vertex(server.url() + kPath, Json{{"token_command", command}}.dump());
  ASSERT_TRUE(provider.ok()) << provider.error().ToString();
  auto embedder = LoadAs<EmbeddingModel>(**provider, Task::kEmbed, "text-embedding-005");
  ASSERT_NE(embedder, nullptr);
  std::filesystem::remove(allowed.path());
  auto e = embedder->Embed({.inputs = {{.text = "hello"}}}, CallContext::WithTimeout(10s));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code(), StatusCode::kUpstreamAuthFailed);
  EXPECT_NE(e.error().message().find("upstream answered 401"), std::string::npos)
      << e.error().message();
  EXPECT_NE(e.error().message().find("gcloud: not logged in"), std::string::npos)
      << e.error().message();
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(VertexTest, AnOldTokenIsRefreshedInTheBackground) {
  TempFile token("tok-a");
  UpstreamServer server([](const UpstreamRequestSeen&) { return OneEmbedding(); });
  auto provider = Vertex(server.url() + kPath,
                         Json{{"token_file", token.path()}, {"token_refresh_s", 0.05}}.dump());
  ASSERT_TRUE(provider.ok()) << provider.error().ToString();
  auto embedder = LoadAs<EmbeddingModel>(**provider, Task::kEmbed, "text-embedding-005");
  ASSERT_NE(embedder, nullptr);
  ASSERT_TRUE(embedder->Embed({.inputs = {{.text = "x"}}}, CallContext::WithTimeout(5s)).ok());
  token.Write("tok-b");
  // Every call succeeds meanwhile, with the old token until the background read lands.
  bool refreshed = false;
  for (int i = 0; i < 200 && !refreshed; ++i) {
    std::this_thread::sleep_for(20ms);
    auto e = embedder->Embed({.inputs = {{.text = "x"}}}, CallContext::WithTimeout(5s));
    ASSERT_TRUE(e.ok()) << e.error().ToString();
    refreshed = server.requests().back().Header("authorization") == "Bearer tok-b";
  }
  EXPECT_TRUE(refreshed);
  EXPECT_EQ(server.requests().front().Header("authorization"), "Bearer tok-a");
}

TEST(VertexTest, BadTokenSettingsAreOneClearError) {
  auto failing = Vertex("http://127.0.0.1:9" + std::string(kPath),
                        R"({"token_command": "echo 'ERROR: denied' >&2; exit 3"})");
  ASSERT_FALSE(failing.ok());
  EXPECT_EQ(failing.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(failing.error().message().find("options.token_command: exited with status 3: ERROR: denied"),
            std::string::npos)
      << failing.error().message();
  auto silent = Vertex("http://127.0.0.1:9" + std::string(kPath), R"({"token_command": "true"})");
  ASSERT_FALSE(silent.ok());
  EXPECT_NE(silent.error().message().find("printed no token"), std::string::npos);
  auto no_file = Vertex("http://127.0.0.1:9" + std::string(kPath),
                        R"({"token_file": "/nonexistent/modelrt/token"})");
  ASSERT_FALSE(no_file.ok());
  EXPECT_NE(no_file.error().message().find("options.token_file: cannot read"), std::string::npos);
  auto lonely = Vertex("http://127.0.0.1:9" + std::string(kPath), R"({"token_refresh_s": 60})");
  ASSERT_FALSE(lonely.ok());
  EXPECT_NE(lonely.error().message().find("needs token_command or token_file"), std::string::npos);
  setenv("MODELRT_TEST_VERTEX_KEY", "k", 1);
  auto both = CreateProvider({.id = "vx",
                              .type = "vertex",
                              .base_url = "http://127.0.0.1:9" + std::string(kPath),
                              .api_key_env = "MODELRT_TEST_VERTEX_KEY",
                              .options = *Options::Parse(R"({"token_command": "echo t"})")});
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.error().message().find("not both"), std::string::npos);
}

}  // namespace
}  // namespace modelrt
