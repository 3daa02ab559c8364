#include "cli/job_verbs.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli/human_format.h"
#include "cli/table.h"

namespace modelrt::cli {

namespace {

using Json = nlohmann::json;

std::string ProgressText(const Json& job) {
  const Json& p = job["progress"];
  const int64_t done = p.value("done", int64_t{0});
  const std::string unit = p.value("unit", "");
  std::string text;
  if (unit == "bytes") {
    text = FormatMiB(done);
    if (p["total"].is_number()) text += " / " + FormatMiB(p["total"].get<int64_t>());
  } else {
    text = std::to_string(done);
    if (p["total"].is_number()) text += "/" + std::to_string(p["total"].get<int64_t>());
    if (!unit.empty()) text += " " + unit;
  }
  const std::string message = p.value("message", "");
  if (!message.empty()) text += "  " + message;
  return text;
}

}  // namespace

JobVerbs::JobVerbs(CLI::App& app) {
  jobs_ = app.add_subcommand("jobs", "a running server's jobs: list, show, cancel, watch, plan, submit");
  jobs_->require_subcommand(1);
  list_ = jobs_->add_subcommand("list", "list jobs, newest first");
  show_ = jobs_->add_subcommand("show", "one job: plan, progress, output, artifacts");
  cancel_ = jobs_->add_subcommand("cancel", "cancel a job (a running one stops within a second)");
  watch_ = jobs_->add_subcommand("watch", "follow a job's progress until it ends");
  plan_ = jobs_->add_subcommand("plan", "what a job would do, without running it");
  submit_ = jobs_->add_subcommand("submit", "start a job");
  for (CLI::App* cmd : {list_, show_, cancel_, watch_, plan_, submit_}) {
    AddServerOptions(cmd, args_);
  }
  for (CLI::App* cmd : {show_, cancel_, watch_}) cmd->add_option("id", id_, "job id")->required();
  for (CLI::App* cmd : {plan_, submit_}) {
    cmd->add_option("kind", kind_, "model-download, model-warmup, model-external-command, ...")
        ->required();
    cmd->add_option("--params", params_, "the job's parameters, a JSON object");
  }
  submit_->add_option("--metadata", metadata_, "kept with the job, a JSON object");
  submit_->add_flag("--watch", watch_after_submit_, "follow it until it ends");
  list_->add_option("--state", state_filter_, "queued, running, succeeded, failed or cancelled");
  list_->add_option("--kind", kind_filter_, "only this kind");
}

std::optional<int> JobVerbs::RunParsed() {
  if (!jobs_->parsed()) return std::nullopt;
  Result<AdminClientOptions> options = ResolveClientOptions(args_);
  if (!options) {
    std::fprintf(stderr, "modelrt: error: %s (see --help)\n", options.error().message().c_str());
    return 2;
  }
  AdminClient client(std::move(options).value());
  const Status status = Dispatch(client);
  std::cout.flush();
  if (status.ok()) return 0;
  std::fprintf(stderr, "modelrt: error: %s\n", status.message().c_str());
  return status.code() == StatusCode::kInvalidArgument && status.message().rfind("--", 0) == 0 ? 2 : 1;
}

Status JobVerbs::Dispatch(const AdminClient& client) {
  if (list_->parsed()) return List(client);
  if (show_->parsed()) return Show(client);
  if (cancel_->parsed()) return Cancel(client);
  if (watch_->parsed()) return Watch(client, id_);
  if (plan_->parsed()) return Plan(client);
  return Submit(client);
}

Result<Json> JobVerbs::Params() const {
  Json params = Json::parse(params_, nullptr, false);
  if (!params.is_object()) return InvalidArgumentError("--params must be a JSON object");
  return params;
}

Status JobVerbs::List(const AdminClient& client) {
  std::string path = "/admin/jobs?limit=100";
  if (!state_filter_.empty()) path += "&state=" + state_filter_;
  if (!kind_filter_.empty()) path += "&kind=" + kind_filter_;
  MODELRT_ASSIGN_OR_RETURN(HttpAnswer answer, client.Call("GET", path));
  if (args_.json) {
    std::cout << answer.body << "\n";
    return OkStatus();
  }
  Table table({"ID", "KIND", "STATE", "PROGRESS", "ERROR"});
  for (const Json& job : answer.json["data"]) {
    table.AddRow({job.value("id", ""), job.value("kind", ""), job.value("state", ""),
                  ProgressText(job), job["error"].is_string() ? job["error"].get<std::string>() : ""});
  }
  std::cout << table.Render();
  return OkStatus();
}

Status JobVerbs::Show(const AdminClient& client) {
  MODELRT_ASSIGN_OR_RETURN(HttpAnswer answer, client.Call("GET", "/admin/jobs/" + id_));
  if (args_.json) {
    std::cout << answer.body << "\n";
    return OkStatus();
  }
  const Json& job = answer.json;
  std::cout << "id:        " << job.value("id", "") << "\n"
            << "kind:      " << job.value("kind", "") << "\n"
            << "state:     " << job.value("state", "") << "\n"
            << "progress:  " << ProgressText(job) << "\n";
  if (job["error"].is_string()) std::cout << "error:     " << job["error"].get<std::string>() << "\n";
  std::cout << "output:    " << job["output"].dump() << "\n";
  for (const Json& a : job["artifacts"]) {
    std::cout << "artifact:  " << a.value("id", "") << " (" << a.value("media_type", "") << ", "
              << a.value("bytes", 0) << " bytes) " << a.value("path", "") << "\n";
  }
  for (const Json& d : job["diagnostics"]) std::cout << "note:      " << d.get<std::string>() << "\n";
  return OkStatus();
}

Status JobVerbs::Cancel(const AdminClient& client) {
  MODELRT_ASSIGN_OR_RETURN(HttpAnswer answer, client.Call("POST", "/admin/jobs/" + id_ + "/cancel"));
  if (args_.json) {
    std::cout << answer.body << "\n";
  } else {
    std::cout << id_ << ": " << answer.json.value("state", "")
              << (answer.json.value("cancel_requested", false) &&
                          answer.json.value("state", "") == "running"
                      ? " (stopping)"
                      : "")
              << "\n";
  }
  return OkStatus();
}

Status JobVerbs::Watch(const AdminClient& client, const std::string& id) {
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  std::string last;
  while (true) {
    MODELRT_ASSIGN_OR_RETURN(HttpAnswer answer, client.Call("GET", "/admin/jobs/" + id));
    const Json& job = answer.json;
    const std::string state = job.value("state", "");
    std::string line = state + "  " + ProgressText(job);
    if (line != last) {
      if (tty) {
        std::fprintf(stderr, "\r\033[K%s", line.c_str());
      } else {
        std::fprintf(stderr, "%s\n", line.c_str());
      }
      last = line;
    }
    if (state == "succeeded" || state == "failed" || state == "cancelled") {
      if (tty) std::fprintf(stderr, "\n");
      if (args_.json) std::cout << answer.body << "\n";
      if (state == "succeeded") return OkStatus();
      return FailedPreconditionError("job " + id + " " + state +
                                     (job["error"].is_string() ? ": " + job["error"].get<std::string>() : ""));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

Status JobVerbs::Plan(const AdminClient& client) {
  MODELRT_ASSIGN_OR_RETURN(Json params, Params());
  Json body = {{"kind", kind_}, {"params", params}};
  MODELRT_ASSIGN_OR_RETURN(HttpAnswer answer,
                           client.Call("POST", "/admin/jobs?dry_run=true", &body));
  if (args_.json) {
    std::cout << answer.body << "\n";
    return OkStatus();
  }
  const Json& plan = answer.json["plan"];
  auto list = [](const Json& items) {
    std::string s;
    for (const Json& i : items) s += (s.empty() ? "" : ", ") + i.get<std::string>();
    return s.empty() ? std::string("none") : s;
  };
  std::cout << "kind:          " << plan.value("kind", "") << "\n"
            << "side effects:  " << list(plan["side_effects"]) << "\n"
            << "requirements:  " << list(plan["requirements"]) << "\n"
            << "progress unit: " << plan.value("progress_unit", "") << "\n"
            << "cancellable:   " << (plan.value("cancellable", false) ? "yes" : "no") << "\n"
            << "resumable:     " << (plan.value("resumable", false) ? "yes" : "no") << "\n";
  for (const Json& a : plan["expected_artifacts"]) {
    std::cout << "artifact:      " << a.value("kind", "") << " (" << a.value("media_type", "")
              << "): " << a.value("description", "") << "\n";
  }
  int n = 0;
  for (const Json& s : plan["steps"]) std::cout << "step " << ++n << ":        " << s.get<std::string>() << "\n";
  return OkStatus();
}

Status JobVerbs::Submit(const AdminClient& client) {
  MODELRT_ASSIGN_OR_RETURN(Json params, Params());
  Json metadata = Json::parse(metadata_, nullptr, false);
  if (!metadata.is_object()) return InvalidArgumentError("--metadata must be a JSON object");
  Json body = {{"kind", kind_}, {"params", params}, {"metadata", metadata}};
  MODELRT_ASSIGN_OR_RETURN(HttpAnswer answer, client.Call("POST", "/admin/jobs", &body));
  const std::string id = answer.json.value("id", "");
  if (!watch_after_submit_) {
    std::cout << (args_.json ? answer.body : id) << "\n";
    return OkStatus();
  }
  std::fprintf(stderr, "%s\n", id.c_str());
  return Watch(client, id);
}

}  // namespace modelrt::cli
