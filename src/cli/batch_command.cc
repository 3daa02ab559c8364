#include "cli/batch_command.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/cli_runtime.h"
#include "jobs/batch_run.h"
#include "modelrt/model_names.h"
#include "server/admission_control.h"
#include "server/api_service.h"
#include "server/in_process_gateway.h"
#include "server/server_metrics.h"

namespace modelrt::cli {

namespace {

using Json = nlohmann::json;

// The url of the first request line, for a batch run without --endpoint.
std::string FirstUrl(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json json = Json::parse(line, nullptr, false);
    if (!json.is_object()) return "";
    // Not Json::value: it throws (here: terminates the CLI) when "url" is not a string.
    auto url = json.find("url");
    return url != json.end() && url->is_string() ? url->get<std::string>() : "";
  }
  return "";
}

}  // namespace

Status RunBatchCommand(const BatchArgs& args) {
  MODELRT_ASSIGN_OR_RETURN(Config config, LoadCliConfig(args.config_path));
  const std::string endpoint = args.endpoint.empty() ? FirstUrl(args.input) : args.endpoint;
  MODELRT_ASSIGN_OR_RETURN(
      jobs::BatchInputCheck check,
      jobs::CheckBatchInput(args.input, endpoint,
                            {config.jobs.batch_max_lines, config.jobs.batch_max_file_bytes}));
  if (!check.errors.empty()) {
    for (const jobs::BatchLineError& e : check.errors) {
      std::fprintf(stderr, "%s:%lld: %s: %s\n", args.input.c_str(),
                   static_cast<long long>(e.line), e.code.c_str(), e.message.c_str());
    }
    return InvalidArgumentError(args.input + " has " + std::to_string(check.errors.size()) +
                                " invalid line(s); nothing was run");
  }
  MODELRT_ASSIGN_OR_RETURN(std::unique_ptr<ModelRuntime> runtime, BuildLazyRuntime(config));
  ModelNames resolver(*runtime, config.profiles);
  server::AdmissionControl::Options admission_options;
  admission_options.max_requests = config.server.queue_capacity;
  admission_options.max_work = config.server.queue_max_tokens;
  admission_options.max_wait = std::chrono::milliseconds(0);  // a batch waits as long as it takes
  server::AdmissionControl admission(admission_options, runtime->metrics());
  server::ServerMetrics metrics(runtime->metrics());
  server::HandlerDeps deps{runtime.get(), &config.server, &resolver, &admission, nullptr};
  server::ApiService api(deps, &metrics, server::ApiKeyAuth(), server::AdminKeyAuth(), 0);
  server::InProcessGateway gateway(admission, resolver);
  gateway.Attach(&api);

  jobs::BatchRunOptions options;
  options.batch_id = "cli-" + std::filesystem::path(args.input).filename().string();
  options.input_path = args.input;
  options.output_path = args.output;
  options.error_path = args.errors.empty() ? args.output + ".errors.jsonl" : args.errors;
  options.endpoint = endpoint;
  options.in_flight = args.in_flight > 0 ? args.in_flight : config.jobs.batch_in_flight;
  jobs::BatchCheckpoint at;
  at.counts.total = check.requests;
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  const auto start = std::chrono::steady_clock::now();
  auto report = [&](const jobs::BatchCheckpoint& c) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = seconds > 0 ? static_cast<double>(c.next_request) / seconds : 0;
    const int width = 30;
    const int filled = c.counts.total > 0 ? static_cast<int>(width * c.next_request / c.counts.total) : 0;
    char line[256];
    std::snprintf(line, sizeof line, "[%s%s] %lld/%lld requests, %lld failed, %.1f/s",
                  std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                  static_cast<long long>(c.next_request), static_cast<long long>(c.counts.total),
                  static_cast<long long>(c.counts.failed), rate);
    if (tty) {
      std::fprintf(stderr, "\r\033[K%s", line);
    } else {
      std::fprintf(stderr, "%s\n", line);
    }
  };
  CancelSignal cancel;
  Status run = jobs::RunBatch(options, gateway, cancel, at, report);
  if (tty) std::fprintf(stderr, "\n");
  MODELRT_RETURN_IF_ERROR(run);
  if (at.counts.failed > 0) {
    return FailedPreconditionError(std::to_string(at.counts.failed) + " of " +
                                   std::to_string(at.counts.total) + " requests failed (see " +
                                   options.error_path + ")");
  }
  return OkStatus();
}

}  // namespace modelrt::cli
