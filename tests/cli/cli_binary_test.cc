// The built `modelrt` binary's admin verbs against a scripted loopback server: the requests they
// make, what they print, their one-line errors and exit codes (0 ok, 1 refused or unreachable,
// 2 bad usage).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/json.h"
#include "scripted_server.h"
#include "support/llama_test_models.h"
#include "support/run_command.h"

namespace modelrt::testing {
namespace {

using Json = nlohmann::json;

// Runs `modelrt ARGS` with a clean environment for the admin settings plus `env` ("K=V ...").
CommandResult Modelrt(const std::string& args, const std::string& env = "") {
  return RunCommand("env -u MODELRT_SERVER -u MODELRT_ADMIN_KEY " + env + " " +
                    std::string(MODELRT_BIN_DIR) + "/modelrt " + args);
}

Json ModelsAnswer() {
  return {{"object", "list"},
          {"data",
           {{{"alias", "chat"},
             {"task", "generate"},
             {"provider", "local"},
             {"model", "/s.gguf"},
             {"state", "loaded"},
             {"generation", 4},
             {"in_flight", 1},
             {"memory_bytes", 3 << 20},
             {"last_used", "2020-01-01T00:00:00Z"},
             {"last_error", ""},
             {"required", false},
             {"pinned", false},
             {"device", "cpu"}}}}};
}

TEST(CliBinaryTest, PsPrintsATableFromGetAdminModelsWithTheKeyFromTheEnvironment) {
  ScriptedServer server(
      [](const RecordedRequest&) { return Reply::Bytes(HttpReply(200, ModelsAnswer().dump())); });
  CommandResult r = Modelrt("ps --server " + server.url(), "MODELRT_ADMIN_KEY=sekrit");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.rfind("ALIAS  TASK      STATE   GEN  IN-FLIGHT   MEMORY  LAST-USED\n"
                        "chat   generate  loaded    4          1  3.0 MiB  ",
                        0),
            0u)
      << r.out;
  EXPECT_NE(r.out.find("d ago\n"), std::string::npos) << r.out;  // 2020 was days ago
  std::vector<RecordedRequest> seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/admin/models");
  EXPECT_EQ(seen[0].Header("Authorization"), "Bearer sekrit");
}

TEST(CliBinaryTest, JsonPrintsTheServersBodyAsReceived) {
  const std::string body = "{ \"object\" : \"list\", \"data\" : [] }";
  ScriptedServer server([&](const RecordedRequest&) { return Reply::Bytes(HttpReply(200, body)); });
  CommandResult r = Modelrt("ps --json", "MODELRT_SERVER=" + server.url());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, body + "\n");
}

TEST(CliBinaryTest, KeyFileIsReadAndSent) {
  const std::string key_file = TestTempDir() + "/admin.key";
  std::ofstream(key_file) << "\nfrom-file\n";
  ScriptedServer server([](const RecordedRequest&) {
    return Reply::Bytes(HttpReply(200, R"({"version":1,"data":[]})"));
  });
  CommandResult r = Modelrt("providers --admin-key-file " + key_file + " --server " + server.url(),
                            "MODELRT_ADMIN_KEY=from-env");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "registry version 1\n\nID  TYPE  BASE-URL  KEY-ENV  OPTIONS\n");
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].target, "/admin/providers");
  EXPECT_EQ(server.requests()[0].Header("Authorization"), "Bearer from-file");
}

TEST(CliBinaryTest, EachVerbCallsItsRoute) {
  ScriptedServer server([](const RecordedRequest& request) {
    if (request.target.find("/reload") != std::string::npos &&
        request.target.find("/admin/models/") == 0) {
      return Reply::Bytes(HttpReply(200, R"({"alias":"chat","old_generation":1,"new_generation":2,
          "outcome":"succeeded","error":"","trigger":"api","duration_ms":12})"));
    }
    return Reply::Bytes(HttpReply(200, R"({"alias":"chat","state":"loaded","generation":1,
        "id":"p","version":3,"created":true,"removed_bindings":[]})"));
  });
  const std::string provider_file = TestTempDir() + "/p.yaml";
  std::ofstream(provider_file) << "id: p\ntype: llama\noptions:\n  threads: 2\n";
  struct Case {
    std::string args, method, target;
  };
  for (const Case& c : std::vector<Case>{
           {"load chat", "POST", "/admin/models/chat/load"},
           {"unload chat", "POST", "/admin/models/chat/unload"},
           {"reload chat", "POST", "/admin/models/chat/reload"},
           {"registry --json", "GET", "/admin/registry"},
           {"reloads --json", "GET", "/admin/reloads"},
           {"config-reload", "POST", "/admin/config/reload"},
           {"providers list --json", "GET", "/admin/providers"},
           {"providers preview p", "GET", "/admin/providers/p/removal-preview"},
           {"providers remove p", "DELETE", "/admin/providers/p?policy=block"},
           {"providers remove p --policy cascade", "DELETE", "/admin/providers/p?policy=cascade"},
           {"providers put p --file " + provider_file, "PUT", "/admin/providers/p"},
           {"load 'a/b'", "POST", "/admin/models/a%2Fb/load"},
       }) {
    const size_t before = server.requests().size();
    CommandResult r = Modelrt(c.args + " --server " + server.url(), "MODELRT_ADMIN_KEY=k");
    EXPECT_EQ(r.exit_code, 0) << c.args << ": " << r.err;
    std::vector<RecordedRequest> seen = server.requests();
    ASSERT_EQ(seen.size(), before + 1) << c.args;
    EXPECT_EQ(seen.back().method, c.method) << c.args;
    EXPECT_EQ(seen.back().target, c.target) << c.args;
  }
  // The YAML provider file went over as JSON.
  for (const RecordedRequest& r : server.requests()) {
    if (r.method == "PUT") {
      EXPECT_EQ(Json::parse(r.body),
                Json({{"id", "p"}, {"type", "llama"}, {"options", {{"threads", 2}}}}));
    }
  }
}

TEST(CliBinaryTest, ReloadSendsTheNewModelAndOptions) {
  ScriptedServer server([](const RecordedRequest&) {
    return Reply::Bytes(HttpReply(200, R"({"alias":"chat","old_generation":3,"new_generation":4,
        "outcome":"succeeded","error":"","trigger":"api","duration_ms":1500})"));
  });
  CommandResult r =
      Modelrt("reload chat --model /new.gguf --options '{\"ctx\":512}' --server " + server.url(),
              "MODELRT_ADMIN_KEY=k");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "chat: reloaded, generation 3 -> 4 (1.5 s)\n");
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(Json::parse(server.requests()[0].body),
            Json({{"model", "/new.gguf"}, {"options", {{"ctx", 512}}}}));
}

TEST(CliBinaryTest, ConfigReloadWithFailedAliasesPrintsThenExitsOne) {
  ScriptedServer server([](const RecordedRequest&) {
    return Reply::Bytes(HttpReply(200, R"({"version":3,"added":["a"],"removed":[],"changed":["chat"],
        "reloaded":[],"failed":[{"alias":"chat","error":"InvalidArgument: bad file"}],"notes":[]})"));
  });
  CommandResult r = Modelrt("config-reload --server " + server.url());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out,
            "configuration reloaded\nadded: a\nchanged: chat\n"
            "failed: chat: InvalidArgument: bad file\n");
  EXPECT_EQ(r.err,
            "modelrt: error: configuration applied, but 1 alias(es) failed to reload (old engines "
            "kept)\n");
}

TEST(CliBinaryTest, ServerErrorIsOneLineOnStderrAndExitOne) {
  ScriptedServer server([](const RecordedRequest&) {
    return Reply::Bytes(HttpReply(
        409,
        R"({"error":{"message":"provider 'local' is used by chat","type":"x","code":"conflict"}})"));
  });
  CommandResult r =
      Modelrt("providers remove local --server " + server.url(), "MODELRT_ADMIN_KEY=k");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "modelrt: error: provider 'local' is used by chat (HTTP 409)\n");
}

TEST(CliBinaryTest, UnreachableServerIsOneLineAndExitOne) {
  const std::string url = "http://127.0.0.1:" + std::to_string(ClosedPort());
  CommandResult r = Modelrt("ps --server " + url);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "modelrt: error: cannot reach modelrt server at " + url + ": Connection refused\n");
}

TEST(CliBinaryTest, GarbageEarlyCloseAndNonJsonAreErrorsNotCrashes) {
  for (const Reply& reply :
       {Reply::Bytes("garbage\r\n\r\n"), Reply::Close(), Reply::Bytes(HttpReply(200, "not json")),
        Reply::Bytes(HttpReply(200, R"({"unexpected":true})")),
        Reply::Bytes("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{")}) {
    ScriptedServer server([&](const RecordedRequest&) { return reply; });
    CommandResult r = Modelrt("ps --server " + server.url());
    EXPECT_EQ(r.exit_code, 1) << reply.bytes;
    EXPECT_EQ(r.out, "") << reply.bytes;
    EXPECT_EQ(r.err.rfind("modelrt: error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

TEST(CliBinaryTest, TimeoutFlagBoundsTheWait) {
  ScriptedServer server([](const RecordedRequest&) { return Reply::Hang(); });
  CommandResult r = Modelrt("load chat --timeout 0.5 --server " + server.url());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "modelrt: error: no answer from modelrt server at " + server.url() +
                       " within 0.5s (see --timeout)\n");
}

TEST(CliBinaryTest, BadUsageExitsTwo) {
  for (const std::string& args :
       {std::string("load"), std::string("ps --server https://x:1"),
        std::string("ps --server nonsense"), std::string("reload chat --options '[1]'"),
        std::string("providers remove x --policy maybe"), std::string("providers put x"),
        std::string("providers frob"), std::string("ps --timeout 0"),
        std::string("ps --admin-key-file /no/such/file")}) {
    CommandResult r = Modelrt(args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.err;
    EXPECT_EQ(r.err.rfind("modelrt: error: ", 0), 0u) << args << ": " << r.err;
  }
}

TEST(CliBinaryTest, ProviderFileErrorsAreReportedBeforeAnyRequest) {
  ScriptedServer server([](const RecordedRequest&) { return Reply::Bytes(HttpReply(200, "{}")); });
  const std::string bad_yaml = TestTempDir() + "/bad.yaml";
  std::ofstream(bad_yaml) << "id: [unclosed\n";
  const std::string list_json = TestTempDir() + "/list.json";
  std::ofstream(list_json) << "[1,2]";
  for (const std::string& file : {bad_yaml, list_json, TestTempDir() + "/missing.json"}) {
    CommandResult r = Modelrt("providers put p --file " + file + " --server " + server.url());
    EXPECT_EQ(r.exit_code, 1) << file;
    EXPECT_NE(r.err.find("provider file '" + file + "'"), std::string::npos) << r.err;
  }
  EXPECT_TRUE(server.requests().empty());
}

}  // namespace
}  // namespace modelrt::testing
