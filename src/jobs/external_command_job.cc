// model-external-command: a configured program (a converter, a quantizer) run for a job, never
// through a shell, with only the allowed environment, inside the job's folder.
#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "jobs/job_kinds.h"
#include "jobs/process_group.h"
#include "store/confined_path.h"

namespace modelrt::jobs {

namespace {

namespace fs = std::filesystem;

// Passed on whatever the allowlist says: without them little runs at all.
constexpr const char* kAlwaysPassed[] = {"PATH", "HOME", "LANG"};

struct Command {
  std::string program;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;  // from the params
  std::string cwd = "work";                               // inside the job's folder
  int64_t timeout_s = 0;
};

class ExternalCommandJob : public JobKind {
 public:
  explicit ExternalCommandJob(const JobDeps& deps) : config_(deps.config) {}
  std::string_view name() const override { return kExternalCommand; }

  Result<JobPlan> Plan(const Json& params) const override {
    MODELRT_ASSIGN_OR_RETURN(Command c, Parse(params));
    JobPlan plan;
    plan.side_effects = {"external_process", "reads_files", "writes_files"};
    plan.progress_unit = "steps";
    plan.artifacts = {{"log", "text/plain", "stdout.log: what it printed (at most " +
                                                std::to_string(config_.max_log_bytes) + " bytes)"},
                      {"log", "text/plain", "stderr.log"}};
    plan.requirements = {"program: " + c.program};
    plan.steps = {"start " + c.program + " in <job folder>/" + c.cwd +
                      " with its own process group",
                  "wait for it, at most " + std::to_string(c.timeout_s) + " s",
                  "keep its output as logs; on cancel or timeout kill its whole group"};
    Json env = Json::array();
    for (const auto& [name, value] : c.env) env.push_back(name);
    plan.detail = {{"program", c.program}, {"args", c.args},     {"env", env},
                   {"cwd", c.cwd},         {"timeout_s", c.timeout_s}};
    return plan;
  }

  Status Run(JobContext& job) override {
    MODELRT_ASSIGN_OR_RETURN(Command c, Parse(job.params()));
    ProcessSpec spec;
    spec.program = c.program;
    spec.args = c.args;
    spec.env = Environment(c);
    spec.cwd = job.dir() + "/" + c.cwd;
    spec.stdout_path = job.dir() + "/stdout.log";
    spec.stderr_path = job.dir() + "/stderr.log";
    spec.max_log_bytes = config_.max_log_bytes;
    spec.timeout = std::chrono::seconds(c.timeout_s);
    std::error_code ec;
    fs::create_directories(spec.cwd, ec);
    if (ec) return UnavailableError("cannot create " + spec.cwd + ": " + ec.message());
    job.Progress(0, 1, "running " + c.program);
    MODELRT_ASSIGN_OR_RETURN(ProcessOutcome out, RunProcessGroup(spec, *job.cancel()));
    for (const auto& [id, path, truncated] :
         {std::tuple{"stdout", spec.stdout_path, out.stdout_truncated},
          std::tuple{"stderr", spec.stderr_path, out.stderr_truncated}}) {
      MODELRT_RETURN_IF_ERROR(job.AddArtifact({.id = id, .kind = "log", .media_type = "text/plain",
                                               .path = path,
                                               .metadata = {{"truncated", truncated}}}));
    }
    job.SetOutput({{"exit_code", out.exit_code},
                   {"pid", out.pid},
                   {"timed_out", out.timed_out},
                   {"stdout_bytes", out.stdout_bytes},
                   {"stderr_bytes", out.stderr_bytes},
                   {"stdout_truncated", out.stdout_truncated},
                   {"stderr_truncated", out.stderr_truncated}});
    job.Progress(1, 1, "exited with " + std::to_string(out.exit_code));
    if (out.cancelled) return CancelledError("cancelled; its process group was killed");
    if (out.timed_out) {
      return DeadlineExceededError(c.program + " ran past its timeout of " +
                                   std::to_string(c.timeout_s) + " s; its process group was killed");
    }
    if (out.exit_code != 0) {
      return FailedPreconditionError(c.program + " exited with code " +
                                     std::to_string(out.exit_code));
    }
    return OkStatus();
  }

 private:
  bool EnvAllowed(const std::string& name) const {
    return std::find(std::begin(kAlwaysPassed), std::end(kAlwaysPassed), name) !=
               std::end(kAlwaysPassed) ||
           std::find(config_.env_allowlist.begin(), config_.env_allowlist.end(), name) !=
               config_.env_allowlist.end();
  }

  Result<Command> Parse(const Json& params) const {
    for (const auto& [key, value] : params.items()) {
      if (key != "program" && key != "args" && key != "env" && key != "cwd" && key != "timeout_s") {
        return InvalidArgumentError("params: unknown key '" + key +
                                    "' (known: program, args, env, cwd, timeout_s)");
      }
    }
    Command c;
    c.program = params.value("program", "");
    if (c.program.empty()) return InvalidArgumentError("params.program is required");
    if (std::find(config_.allowed_programs.begin(), config_.allowed_programs.end(), c.program) ==
        config_.allowed_programs.end()) {
      return PermissionDeniedError("params.program: " + c.program +
                                   " is not in jobs.allowed_programs");
    }
    if (params.contains("args")) {
      const Json& args = params["args"];
      if (!args.is_array()) return InvalidArgumentError("params.args must be a list of strings");
      for (const Json& a : args) {
        if (!a.is_string()) return InvalidArgumentError("params.args must be a list of strings");
        c.args.push_back(a.get<std::string>());
      }
    }
    if (params.contains("env")) {
      const Json& env = params["env"];
      if (!env.is_object()) return InvalidArgumentError("params.env must be an object of strings");
      for (const auto& [name, value] : env.items()) {
        if (!value.is_string()) return InvalidArgumentError("params.env." + name + " must be a string");
        if (!EnvAllowed(name)) {
          return PermissionDeniedError("params.env: " + name + " is not in jobs.env_allowlist");
        }
        c.env.emplace_back(name, value.get<std::string>());
      }
    }
    if (params.contains("cwd")) {
      if (!params["cwd"].is_string()) return InvalidArgumentError("params.cwd must be a string");
      c.cwd = params["cwd"].get<std::string>();
      if (Status s = store::CheckRelativePath(c.cwd); !s.ok()) {
        return InvalidArgumentError("params.cwd: " + s.message());
      }
    }
    c.timeout_s = config_.command_timeout_s;
    if (params.contains("timeout_s")) {
      if (!params["timeout_s"].is_number_integer() || params["timeout_s"].get<int64_t>() < 1 ||
          params["timeout_s"].get<int64_t>() > config_.command_timeout_s) {
        return InvalidArgumentError("params.timeout_s must be 1 to " +
                                    std::to_string(config_.command_timeout_s) +
                                    " (jobs.command_timeout_s)");
      }
      c.timeout_s = params["timeout_s"].get<int64_t>();
    }
    return c;
  }

  // The allowed variables of this process, then the params' (which win).
  std::vector<std::string> Environment(const Command& c) const {
    std::vector<std::pair<std::string, std::string>> vars;
    auto set = [&](const std::string& name, const std::string& value) {
      for (auto& [n, v] : vars) {
        if (n == name) {
          v = value;
          return;
        }
      }
      vars.emplace_back(name, value);
    };
    for (const char* name : kAlwaysPassed) {
      if (const char* v = std::getenv(name)) set(name, v);
    }
    for (const std::string& name : config_.env_allowlist) {
      if (const char* v = std::getenv(name.c_str())) set(name, v);
    }
    for (const auto& [name, value] : c.env) set(name, value);
    std::vector<std::string> env;
    for (const auto& [name, value] : vars) env.push_back(name + "=" + value);
    return env;
  }

  JobsConfig config_;
};

}  // namespace

std::unique_ptr<JobKind> MakeExternalCommandJob(const JobDeps& deps) {
  return std::make_unique<ExternalCommandJob>(deps);
}

}  // namespace modelrt::jobs
