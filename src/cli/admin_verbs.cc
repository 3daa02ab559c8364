#include "cli/admin_verbs.h"

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

namespace modelrt::cli {

AdminVerbs::AdminVerbs(CLI::App& app) {
  ps_ = app.add_subcommand("ps", "list a running server's models: state, generation, memory");
  AddServerOptions(ps_, args_);

  load_ = app.add_subcommand("load", "load an alias on a running server (waits for the load)");
  unload_ = app.add_subcommand("unload", "unload an alias on a running server");
  for (CLI::App* cmd : {load_, unload_}) {
    AddServerOptions(cmd, args_);
    cmd->add_option("alias", alias_, "model alias")->required();
  }

  reload_cmd_ = app.add_subcommand(
      "reload", "reload an alias on a running server (same spec, or a new file/options)");
  AddServerOptions(reload_cmd_, args_);
  reload_cmd_->add_option("alias", reload_.alias, "model alias")->required();
  reload_cmd_->add_option("--model", reload_.model,
                          "new model file (a path on the server's machine) or upstream name");
  reload_cmd_
      ->add_option("--options", reload_.options_json,
                   "options to merge into the spec's (a JSON object; null removes one)")
      ->check(
          [](const std::string& text) -> std::string {
            return nlohmann::json::parse(text, nullptr, false).is_object()
                       ? ""
                       : "--options must be a JSON object, e.g. '{\"ctx\":512}'";
          },
          "JSON object");

  registry_ = app.add_subcommand("registry", "print a running server's registry snapshot");
  AddServerOptions(registry_, args_);
  reloads_ = app.add_subcommand("reloads", "print a running server's reload log");
  AddServerOptions(reloads_, args_);
  config_reload_ = app.add_subcommand(
      "config-reload", "make a running server re-read its config file (like SIGHUP)");
  AddServerOptions(config_reload_, args_);

  providers_ = app.add_subcommand("providers", "list or change a running server's providers");
  providers_->require_subcommand(0, 1);
  AddServerOptions(providers_, args_);
  providers_list_ = providers_->add_subcommand("list", "list providers (the default)");
  providers_show_ = providers_->add_subcommand("show", "one provider and the aliases using it");
  providers_preview_ = providers_->add_subcommand(
      "preview", "what removing a provider would take with it, per policy");
  providers_remove_ = providers_->add_subcommand("remove", "remove a provider");
  providers_put_ = providers_->add_subcommand("put", "add or replace a provider from a file");
  for (CLI::App* cmd :
       {providers_list_, providers_show_, providers_preview_, providers_remove_, providers_put_}) {
    AddServerOptions(cmd, args_);
    if (cmd != providers_list_) {
      cmd->add_option("id", provider_id_, "provider id")->required();
    }
  }
  providers_remove_
      ->add_option("--policy", policy_,
                   "block: refuse while aliases use it (default); cascade: remove them too")
      ->check(CLI::IsMember({"block", "cascade"}));
  providers_put_->add_option("-f,--file", provider_file_, "provider as JSON or YAML")->required();
}

Status AdminVerbs::Dispatch(const AdminContext& context) {
  if (ps_->parsed()) return RunPs(context);
  if (load_->parsed()) return RunLoadOrUnload(context, alias_, /*load=*/true);
  if (unload_->parsed()) return RunLoadOrUnload(context, alias_, /*load=*/false);
  if (reload_cmd_->parsed()) return RunReload(context, reload_);
  if (registry_->parsed()) return RunRegistry(context);
  if (reloads_->parsed()) return RunReloads(context);
  if (config_reload_->parsed()) return RunConfigReload(context);
  if (providers_show_->parsed()) return RunProviderShow(context, provider_id_);
  if (providers_preview_->parsed()) return RunProviderPreview(context, provider_id_);
  if (providers_remove_->parsed()) return RunProviderRemove(context, provider_id_, policy_);
  if (providers_put_->parsed()) return RunProviderPut(context, provider_id_, provider_file_);
  return RunProvidersList(context);  // `providers` or `providers list`
}

std::optional<int> AdminVerbs::RunParsed() {
  bool any = false;
  for (CLI::App* cmd :
       {ps_, load_, unload_, reload_cmd_, registry_, reloads_, config_reload_, providers_}) {
    any |= cmd->parsed();
  }
  if (!any) return std::nullopt;
  Result<AdminClientOptions> options = ResolveClientOptions(args_);
  if (!options) {
    std::fprintf(stderr, "modelrt: error: %s (see --help)\n", options.error().message().c_str());
    return 2;
  }
  AdminClient client(std::move(options).value());
  const Status status = Dispatch({.client = client, .json = args_.json, .out = std::cout});
  std::cout.flush();
  if (status.ok()) return 0;
  std::fprintf(stderr, "modelrt: error: %s\n", status.message().c_str());
  return 1;
}

}  // namespace modelrt::cli
