// What the log and the errors reveal (issue 16): control characters in logged values are
// escaped, llama.cpp's lines quoting a bad model file are redacted, and an API client calling an
// alias whose file cannot load gets a 503 naming the alias, never the server's file path.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "core/logging.h"
#include "http_test_client.h"
#include "providers/llama/llama_log_filter.h"
#include "support/llama_test_models.h"
#include "test_server.h"

namespace modelrt::testing {
namespace {

TEST(LogSafetyTest, ControlCharactersAreEscaped) {
  EXPECT_EQ(EscapeControlCharacters("plain"), "plain");
  const char controls[] = "a\nb\rc\td\0e\x7f";
  EXPECT_EQ(EscapeControlCharacters(std::string(controls, sizeof(controls) - 1)),
            "a\\nb\\rc\\td\\x00e\\x7f");
  const char forged[] = "x\n2026-01-01T00:00:00.000 info [http] forged\0z";
  ::testing::internal::CaptureStderr();
  Log("test")->warn("alias={}", std::string(forged, sizeof(forged) - 1));
  std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(out.find("\nforged"), std::string::npos);
  EXPECT_NE(out.find("alias=x\\n2026-01-01T00:00:00.000 info [http] forged\\x00z"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find('\0'), std::string::npos);
  // One line: the only newline is the one ending it.
  EXPECT_EQ(out.find('\n'), out.size() - 1) << out;
}

TEST(LogSafetyTest, LlamaLinesQuotingFileContentsAreRedacted) {
  using llama::RedactLlamaLogLine;
  EXPECT_EQ(RedactLlamaLogLine(
                "gguf_init_from_file_impl: invalid magic characters: 'root', expected 'GGUF'"),
            "gguf_init_from_file_impl: invalid magic characters: '<redacted>', expected "
            "'<redacted>'");
  EXPECT_EQ(RedactLlamaLogLine("gguf_init_from_file_impl: key 'secret' has invalid GGUF type 99"),
            "gguf_init_from_file_impl: key '<redacted>' has invalid GGUF type 99");
  EXPECT_EQ(RedactLlamaLogLine("gguf_x: unterminated 'abc"), "gguf_x: unterminated '<redacted>");
  // The path of a file that cannot be opened is ours, not the file's.
  EXPECT_EQ(RedactLlamaLogLine("gguf_init_from_file: failed to open GGUF file '/m/x.gguf' (No such)"),
            "gguf_init_from_file: failed to open GGUF file '/m/x.gguf' (No such)");
  EXPECT_EQ(RedactLlamaLogLine("llama_model_load: loaded meta data"), "llama_model_load: loaded meta data");
}

// A catalog whose `embed` is a text file (the first bytes of /etc/passwd) and whose `rerank`
// file is missing.
Config BrokenConfig(std::string* not_gguf, std::string* missing) {
  *not_gguf = TestTempDir() + "/not-a-model.gguf";
  std::ofstream(*not_gguf) << "root:x:0:0:root:/root:/bin/bash\n";
  *missing = TestTempDir() + "/missing-model.gguf";
  Config config = TestConfig();
  config.models[0].model = *not_gguf;
  config.models[1].model = *missing;
  return config;
}

TEST(LogSafetyTest, ApiClientsGet503NamingTheAliasNotThePath) {
  std::string not_gguf, missing;
  // From the start: the runtime also tries (and logs) the loads while it starts.
  ::testing::internal::CaptureStderr();
  TestServer server(BrokenConfig(&not_gguf, &missing));
  HttpResult embed = PostJson(server.port(), "/v1/embeddings", {{"model", "embed"}, {"input", "x"}});
  HttpResult rerank = PostJson(server.port(), "/v1/rerank",
                               {{"model", "rerank"}, {"query", "q"}, {"documents", {"d"}}});
  std::string log = ::testing::internal::GetCapturedStderr();
  for (const HttpResult* r : {&embed, &rerank}) {
    EXPECT_EQ(r->status, 503) << r->body;
    EXPECT_FALSE(r->Header("Retry-After").empty());
    std::string message = r->json()["error"]["message"].get<std::string>();
    EXPECT_EQ(message.find(TestTempDir()), std::string::npos) << message;
    EXPECT_EQ(message.find(".gguf"), std::string::npos) << message;
  }
  EXPECT_NE(embed.json()["error"]["message"].get<std::string>().find("'embed'"), std::string::npos);
  EXPECT_NE(rerank.json()["error"]["message"].get<std::string>().find("'rerank'"), std::string::npos);
  // The log keeps the cause (the path) but not the file's bytes.
  EXPECT_NE(log.find(not_gguf), std::string::npos) << log;
  EXPECT_EQ(log.find("'root'"), std::string::npos) << log;
  EXPECT_EQ(log.find("root:x"), std::string::npos) << log;
  // Loaded models are unaffected.
  EXPECT_EQ(PostJson(server.port(), "/v1/completions",
                     {{"model", "chat"}, {"prompt", "x"}, {"max_tokens", 2}})
                .status,
            200);
}

}  // namespace
}  // namespace modelrt::testing
