// Server URL parsing, path escaping, and how --server/--admin-key-file/--timeout and the
// environment become the admin client's options.
#include "cli/server_url.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "cli/admin_options.h"
#include "support/llama_test_models.h"

namespace modelrt::cli {
namespace {

TEST(ServerUrlTest, HostAndPort) {
  ServerUrl u = ParseServerUrl("http://127.0.0.1:8080").value();
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 8080);
  EXPECT_EQ(u.prefix, "");
  EXPECT_EQ(u.text, "http://127.0.0.1:8080");
  EXPECT_EQ(u.Target("/admin/models"), "/admin/models");
  EXPECT_EQ(u.HostHeader(), "127.0.0.1:8080");
}

TEST(ServerUrlTest, DefaultPortTrailingSlashAndUppercaseScheme) {
  ServerUrl u = ParseServerUrl("HTTP://models.internal/").value();
  EXPECT_EQ(u.host, "models.internal");
  EXPECT_EQ(u.port, 80);
  EXPECT_EQ(u.prefix, "");
  EXPECT_EQ(u.text, "HTTP://models.internal");
}

TEST(ServerUrlTest, PathPrefixIsKeptForAServerBehindAProxy) {
  ServerUrl u = ParseServerUrl("http://proxy:9000/modelrt/").value();
  EXPECT_EQ(u.host, "proxy");
  EXPECT_EQ(u.port, 9000);
  EXPECT_EQ(u.prefix, "/modelrt");
  EXPECT_EQ(u.Target("/admin/pool"), "/modelrt/admin/pool");
}

TEST(ServerUrlTest, Ipv6InBrackets) {
  ServerUrl u = ParseServerUrl("http://[::1]:8081").value();
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 8081);
  EXPECT_EQ(u.HostHeader(), "[::1]:8081");
  EXPECT_EQ(ParseServerUrl("http://[::1]").value().port, 80);
}

TEST(ServerUrlTest, RejectsWhatItCannotUseAndSaysWhy) {
  struct Case {
    const char* url;
    const char* why;
  };
  for (const Case& c : std::vector<Case>{
           {"https://host:8443", "https is not supported"},
           {"ftp://host", "only http://"},
           {"127.0.0.1:8080", "expected http://HOST[:PORT]"},
           {"http://", "missing host"},
           {"http://:8080", "missing host"},
           {"http://host:", "empty port"},
           {"http://host:0", "port must be"},
           {"http://host:65536", "port must be"},
           {"http://host:80x", "port must be"},
           {"http://host:-1", "port must be"},
           {"http://user:pw@host", "user info"},
           {"http://host/?x=1", "query or fragment"},
           {"http://[::1", "unclosed '['"},
           {"http://[::1]x", "after ']'"},
       }) {
    Result<ServerUrl> r = ParseServerUrl(c.url);
    ASSERT_FALSE(r.ok()) << c.url;
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find(c.why), std::string::npos)
        << c.url << ": " << r.error().message();
    EXPECT_NE(r.error().message().find(c.url), std::string::npos) << r.error().message();
  }
}

TEST(ServerUrlTest, EscapesPathSegments) {
  EXPECT_EQ(EscapePathSegment("chat-1.q4_K~x"), "chat-1.q4_K~x");
  EXPECT_EQ(EscapePathSegment("a/b c?d#e%"), "a%2Fb%20c%3Fd%23e%25");
  EXPECT_EQ(EscapePathSegment("caf\xc3\xa9"), "caf%C3%A9");
  EXPECT_EQ(EscapePathSegment(""), "");
}

// The environment a test wants, instead of the process's.
EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string WriteFile(const std::string& name, const std::string& text) {
  std::string path = testing::TestTempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(AdminOptionsTest, DefaultsWithAnEmptyEnvironment) {
  AdminClientOptions o = ResolveClientOptions({}, FakeEnv({})).value();
  EXPECT_EQ(o.server.text, "http://127.0.0.1:8080");
  EXPECT_EQ(o.admin_key, "");
  EXPECT_EQ(o.timeout, std::chrono::seconds(600));
  EXPECT_EQ(o.connect_timeout, std::chrono::seconds(10));
}

TEST(AdminOptionsTest, FlagBeatsEnvironmentForTheServer) {
  auto env = FakeEnv({{"MODELRT_SERVER", "http://from-env:1"}});
  EXPECT_EQ(ResolveClientOptions({}, env).value().server.host, "from-env");
  AdminArgs args;
  args.server = "http://from-flag:2";
  EXPECT_EQ(ResolveClientOptions(args, env).value().server.host, "from-flag");
  // An empty variable is unset.
  EXPECT_EQ(ResolveClientOptions({}, FakeEnv({{"MODELRT_SERVER", ""}})).value().server.port, 8080);
}

TEST(AdminOptionsTest, KeyFromEnvironmentOrFileFirstNonEmptyLineTrimmed) {
  EXPECT_EQ(
      ResolveClientOptions({}, FakeEnv({{"MODELRT_ADMIN_KEY", " env-key\n"}})).value().admin_key,
      "env-key");
  AdminArgs args;
  args.admin_key_file = WriteFile("key.txt", "\n   \n  file-key  \nsecond\n");
  // The file, named on purpose, wins over the environment.
  EXPECT_EQ(
      ResolveClientOptions(args, FakeEnv({{"MODELRT_ADMIN_KEY", "env-key"}})).value().admin_key,
      "file-key");
}

TEST(AdminOptionsTest, UnreadableOrEmptyKeyFileIsAnError) {
  AdminArgs args;
  args.admin_key_file = testing::TestTempDir() + "/no-such-key-file";
  Result<AdminClientOptions> r = ResolveClientOptions(args, FakeEnv({}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("cannot read admin key file"), std::string::npos);
  EXPECT_NE(r.error().message().find("No such file"), std::string::npos) << r.error().message();

  args.admin_key_file = WriteFile("empty-key.txt", "\n \n");
  r = ResolveClientOptions(args, FakeEnv({}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("is empty"), std::string::npos);
}

TEST(AdminOptionsTest, TimeoutBoundsTheCallAndCapsTheConnect) {
  AdminArgs args;
  args.timeout_s = 2.5;
  AdminClientOptions o = ResolveClientOptions(args, FakeEnv({})).value();
  EXPECT_EQ(o.timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(o.connect_timeout, std::chrono::milliseconds(2500));
  for (double bad : {0.0, -1.0, 1e9}) {
    args.timeout_s = bad;
    EXPECT_FALSE(ResolveClientOptions(args, FakeEnv({})).ok()) << bad;
  }
}

TEST(AdminOptionsTest, BadUrlFromTheEnvironmentIsReported) {
  Result<AdminClientOptions> r =
      ResolveClientOptions({}, FakeEnv({{"MODELRT_SERVER", "https://x"}}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("https is not supported"), std::string::npos);
}

}  // namespace
}  // namespace modelrt::cli
