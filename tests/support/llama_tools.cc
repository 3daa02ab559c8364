#include "support/llama_tools.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <string_view>
#include <thread>

#include "support/http_fetch.h"
#include "support/run_command.h"

namespace modelrt::testing {

bool HaveLlamaTool(const std::string& name) {
  return std::filesystem::exists(std::string(LLAMA_BIN_DIR) + "/" + name);
}

std::string RunLlamaEmbedding(const std::string& args) {
  const std::string command = std::string(LLAMA_BIN_DIR) + "/llama-embedding -t 1 " + args;
  for (int attempt = 0; attempt < 5; ++attempt) {
    CommandResult r = RunCommand(command);
    if (r.exit_code != 0) return "";
    // Complete output ends by closing the data list and the object: "\n  ]\n}" (an item
    // closes with "]\n    }", which a cut-short output may end with).
    std::string_view out = r.out;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.remove_suffix(1);
    if (out.size() >= 6 && out.substr(out.size() - 6) == "\n  ]\n}") return r.out;
  }
  return "";
}

namespace {

// A loopback port that was free a moment ago. llama-server takes no port 0, so the port is
// picked here; a clash with another process in that moment shows as a failed start, retried.
int PickPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

bool Healthy(int port) {
  auto r = FetchAndWait(
      {.method = "GET",
       .url = *net::ParseUrl("http://127.0.0.1:" + std::to_string(port) + "/health")},
      {.deadline = Clock::now() + std::chrono::seconds(2)});
  return r.ok() && r->head.status == 200;
}

}  // namespace

std::unique_ptr<LlamaServer> LlamaServer::Start(const std::string& model,
                                                const std::vector<std::string>& args,
                                                const std::string& log_path) {
  if (!HaveLlamaTool("llama-server")) return nullptr;
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto server = std::unique_ptr<LlamaServer>(new LlamaServer());
    server->port_ = PickPort();
    std::vector<std::string> argv = {std::string(LLAMA_BIN_DIR) + "/llama-server", "-m", model,
                                     "--host", "127.0.0.1", "--port",
                                     std::to_string(server->port_), "-t", "1", "--no-webui"};
    argv.insert(argv.end(), args.begin(), args.end());
    if (!server->process_.Spawn(argv, {}, log_path).ok()) return nullptr;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < until && !server->process_.Exited()) {
      if (Healthy(server->port_)) return server;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return nullptr;
}

}  // namespace modelrt::testing
