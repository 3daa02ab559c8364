// Upstream URLs: parsing with errors that say what is wrong, joining API paths, and the
// proxy environment as curl reads it.
#include "net/url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

namespace modelrt::net {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Url MustParse(std::string_view text) {
  Result<Url> url = ParseUrl(text);
  EXPECT_TRUE(url.ok()) << text << ": " << url.error().ToString();
  return url.ok() ? *url : Url{};
}

TEST(UrlTest, ParsesSchemesHostsPortsAndTargets) {
  Url openai = MustParse("https://API.OpenAI.com/v1");
  EXPECT_EQ(openai.scheme, "https");
  EXPECT_EQ(openai.host, "api.openai.com");
  EXPECT_EQ(openai.port, 443);
  EXPECT_EQ(openai.target, "/v1");
  EXPECT_EQ(openai.HostHeader(), "api.openai.com");

  Url local = MustParse("http://127.0.0.1:8081");
  EXPECT_EQ(local.port, 8081);
  EXPECT_EQ(local.target, "/");
  EXPECT_EQ(local.HostHeader(), "127.0.0.1:8081");

  Url v6 = MustParse("http://[::1]:9000/api?x=1");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 9000);
  EXPECT_EQ(v6.target, "/api?x=1");
  EXPECT_EQ(v6.HostHeader(), "[::1]:9000");
}

TEST(UrlTest, ErrorsNameTheProblemAndNeverEchoCredentials) {
  struct Case {
    const char* url;
    const char* says;
  };
  for (const Case& c :
       {Case{"api.openai.com/v1", "must start with http:// or https://"},
        Case{"ftp://host/x", "scheme must be http or https"}, Case{"https:///v1", "has no host"},
        Case{"http://host:0", "port must be"}, Case{"http://host:99999", "port must be"},
        Case{"http://host:12ab", "port must be"}, Case{"https://host/v1#frag", "fragment"},
        Case{"http://ho st/", "host has characters"}, Case{"http://host/a b", "percent-encode"},
        Case{"http://[::1/", "unclosed"}}) {
    Result<Url> url = ParseUrl(c.url);
    ASSERT_FALSE(url.ok()) << c.url;
    EXPECT_EQ(url.error().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(url.error().message(), HasSubstr(c.says)) << c.url;
  }
  Result<Url> secret = ParseUrl("https://user:sk-live-1@host/v1");
  ASSERT_FALSE(secret.ok());
  EXPECT_THAT(secret.error().message(), HasSubstr("api_key_env"));
  EXPECT_THAT(secret.error().message(), Not(HasSubstr("sk-live-1")));
  EXPECT_THAT(secret.error().message(), HasSubstr("https://***@host/v1"));
}

TEST(UrlTest, WithPathJoinsOntoTheBasePathAndKeepsItsQuery) {
  EXPECT_EQ(MustParse("https://h/v1").WithPath("/embeddings").target, "/v1/embeddings");
  EXPECT_EQ(MustParse("https://h/v1/").WithPath("/embeddings").target, "/v1/embeddings");
  EXPECT_EQ(MustParse("https://h").WithPath("embed").target, "/embed");
  // Azure OpenAI: the api-version query of the base stays on every call.
  EXPECT_EQ(MustParse("https://r.openai.azure.com/openai/deployments/d?api-version=2024-10-21")
                .WithPath("/chat/completions")
                .target,
            "/openai/deployments/d/chat/completions?api-version=2024-10-21");
  EXPECT_EQ(MustParse("https://h/v1beta?key=1")
                .WithPath("/models/m:streamGenerateContent?alt=sse")
                .target,
            "/v1beta/models/m:streamGenerateContent?alt=sse&key=1");
}

TEST(UrlTest, NoProxyEntries) {
  const Url api = MustParse("https://api.example.com/v1");
  EXPECT_TRUE(BypassesProxy(api, "*"));
  EXPECT_TRUE(BypassesProxy(api, "example.com"));
  EXPECT_TRUE(BypassesProxy(api, ".example.com"));
  EXPECT_TRUE(BypassesProxy(api, "localhost, API.example.com"));
  EXPECT_TRUE(BypassesProxy(api, "example.com:443"));
  EXPECT_FALSE(BypassesProxy(api, "example.com:8443"));
  EXPECT_FALSE(BypassesProxy(MustParse("https://badexample.com"), "example.com"));
  EXPECT_FALSE(BypassesProxy(api, ""));
  const Url lan = MustParse("http://10.1.2.3:8080");
  EXPECT_TRUE(BypassesProxy(lan, "10.0.0.0/8"));
  EXPECT_FALSE(BypassesProxy(lan, "192.168.0.0/16"));
  EXPECT_TRUE(BypassesProxy(lan, "10.1.2.3"));
  EXPECT_TRUE(BypassesProxy(MustParse("http://[::1]:1"), "::1"));
}

TEST(UrlTest, ProxyFromTheEnvironmentAsCurlReadsIt) {
  std::map<std::string, std::string> vars;
  auto env = [&](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  const Url https = MustParse("https://api.example.com/v1");
  const Url http = MustParse("http://upstream.internal:8080");
  EXPECT_FALSE(ProxyFor(https, env).has_value());

  vars = {{"HTTPS_PROXY", "proxy.corp:3128"}, {"HTTP_PROXY", "http://cgi-injected:1"}};
  ASSERT_TRUE(ProxyFor(https, env).has_value());
  EXPECT_EQ(ProxyFor(https, env)->host, "proxy.corp");
  EXPECT_EQ(ProxyFor(https, env)->port, 3128);
  EXPECT_FALSE(ProxyFor(http, env).has_value()) << "uppercase HTTP_PROXY is not read";

  vars = {{"http_proxy", "http://p:1"}, {"NO_PROXY", ".internal"}};
  EXPECT_FALSE(ProxyFor(http, env).has_value()) << "NO_PROXY wins";
  vars = {{"ALL_PROXY", "http://all:2"}};
  EXPECT_EQ(ProxyFor(http, env)->host, "all");
  EXPECT_EQ(ProxyFor(https, env)->host, "all");
  // Loopback goes direct whatever the environment says: a proxy cannot reach our 127.0.0.1.
  for (const char* local : {"http://127.0.0.1:8081", "http://localhost:11434", "http://[::1]:80"}) {
    EXPECT_FALSE(ProxyFor(MustParse(local), env).has_value()) << local;
  }
}

}  // namespace
}  // namespace modelrt::net
