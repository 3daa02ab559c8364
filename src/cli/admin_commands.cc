#include "cli/admin_commands.h"

#include <ctime>
#include <fstream>
#include <sstream>

#include "catalog/yaml_to_json.h"
#include "cli/admin_views.h"
#include "core/json.h"

namespace modelrt::cli {
namespace {

std::string ModelPath(const std::string& alias, std::string_view action = {}) {
  std::string path = "/admin/models/" + EscapePathSegment(alias);
  if (!action.empty()) path += "/" + std::string(action);
  return path;
}

std::string ProviderPath(const std::string& id) {
  return "/admin/providers/" + EscapePathSegment(id);
}

int64_t Now(const AdminContext& context) {
  return context.now_s != 0 ? context.now_s : static_cast<int64_t>(std::time(nullptr));
}

// --json: the server's text as received, one line per answer.
void PrintRaw(const AdminContext& context, const HttpAnswer& answer) {
  context.out << answer.body;
  if (answer.body.empty() || answer.body.back() != '\n') context.out << '\n';
}

// Calls the route and prints the answer raw (--json) or through `render`.
template <typename Render>
Status CallAndPrint(const AdminContext& context, std::string_view method, const std::string& path,
                    const Json* body, Render render) {
  MODELRT_ASSIGN_OR_RETURN(HttpAnswer answer, context.client.Call(method, path, body));
  if (context.json) {
    PrintRaw(context, answer);
    return OkStatus();
  }
  Result<std::string> text = render(answer.json);
  if (!text) return text.error();
  context.out << *text;
  return OkStatus();
}

// Prints an answer raw (--json) or as `render` writes it.
void Print(const AdminContext& context, const HttpAnswer& answer,
           std::string (*render)(const Json&)) {
  if (context.json) {
    PrintRaw(context, answer);
  } else {
    context.out << render(answer.json);
  }
}

// A change the server applied, but where some aliases failed to reload (they keep their old
// engines): scripts should notice, so it is an error after the output.
Status FailuresToStatus(const std::string& what, const Json& answer) {
  const size_t failed = FailedCount(answer);
  if (failed == 0) return OkStatus();
  return Status(StatusCode::kAborted, what + ", but " + std::to_string(failed) +
                                          " alias(es) failed to reload (old engines kept)");
}

Result<Json> ReadProviderFile(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return InvalidArgumentError("cannot read provider file '" + file + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  Json provider;
  if (file.size() >= 5 && file.compare(file.size() - 5, 5, ".json") == 0) {
    provider = Json::parse(text, nullptr, false);
    if (provider.is_discarded()) {
      return InvalidArgumentError("provider file '" + file + "' is not valid JSON");
    }
  } else {
    Result<Json> parsed = catalog::YamlToJson(text);
    if (!parsed) return parsed.error().WithPrefix("provider file '" + file + "'");
    provider = std::move(parsed).value();
  }
  if (!provider.is_object()) {
    return InvalidArgumentError("provider file '" + file + "' must hold one provider object " +
                                "(id, type, options...)");
  }
  return provider;
}

}  // namespace

Status RunPs(const AdminContext& context) {
  const int64_t now = Now(context);
  return CallAndPrint(context, "GET", "/admin/models", nullptr,
                      [now](const Json& j) { return RenderModels(j, now); });
}

Status RunLoadOrUnload(const AdminContext& context, const std::string& alias, bool load) {
  return CallAndPrint(context, "POST", ModelPath(alias, load ? "load" : "unload"), nullptr,
                      [](const Json& j) -> Result<std::string> { return RenderModelState(j); });
}

Status RunReload(const AdminContext& context, const ReloadArgs& args) {
  Json body = Json::object();
  if (!args.model.empty()) body["model"] = args.model;
  if (!args.options_json.empty()) {
    Json options = Json::parse(args.options_json, nullptr, false);
    if (!options.is_object()) {
      return InvalidArgumentError("--options must be a JSON object, e.g. '{\"ctx\":512}'");
    }
    body["options"] = std::move(options);
  }
  const Json* send = body.empty() ? nullptr : &body;
  MODELRT_ASSIGN_OR_RETURN(HttpAnswer answer,
                           context.client.Call("POST", ModelPath(args.alias, "reload"), send));
  Print(context, answer, RenderReload);
  // The contract answers a failed reload with an error status; a 200 saying "failed" is still
  // a failure for scripts.
  if (StringField(answer.json, "outcome") == "failed") {
    return Status(StatusCode::kAborted,
                  "reload of " + args.alias + " failed: " + StringField(answer.json, "error"));
  }
  return OkStatus();
}

Status RunRegistry(const AdminContext& context) {
  return CallAndPrint(context, "GET", "/admin/registry", nullptr, RenderRegistry);
}

Status RunReloads(const AdminContext& context) {
  const int64_t now = Now(context);
  return CallAndPrint(context, "GET", "/admin/reloads", nullptr,
                      [now](const Json& j) { return RenderReloads(j, now); });
}

Status RunConfigReload(const AdminContext& context) {
  MODELRT_ASSIGN_OR_RETURN(HttpAnswer answer,
                           context.client.Call("POST", "/admin/config/reload", nullptr));
  Print(context, answer, RenderConfigReload);
  return FailuresToStatus("configuration applied", answer.json);
}

Status RunProvidersList(const AdminContext& context) {
  return CallAndPrint(context, "GET", "/admin/providers", nullptr, RenderProviders);
}

Status RunProviderShow(const AdminContext& context, const std::string& id) {
  // The registry holds both the provider and the bindings that use it.
  MODELRT_ASSIGN_OR_RETURN(HttpAnswer answer, context.client.Call("GET", "/admin/registry"));
  const Json& registry = answer.json;
  if (!registry.is_object() || !registry.contains("providers") ||
      !registry["providers"].is_array()) {
    return Status(StatusCode::kUnknown,
                  "unexpected answer to GET /admin/registry: no 'providers' list");
  }
  for (const Json& provider : registry["providers"]) {
    if (StringField(provider, "id") != id) continue;
    if (context.json) {
      context.out << provider.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n';
    } else {
      context.out << RenderProvider(
          provider, registry.contains("bindings") ? registry["bindings"] : Json::array());
    }
    return OkStatus();
  }
  return NotFoundError("provider '" + id + "' is not in the registry");
}

Status RunProviderPreview(const AdminContext& context, const std::string& id) {
  return CallAndPrint(context, "GET", ProviderPath(id) + "/removal-preview", nullptr,
                      [](const Json& j) -> Result<std::string> { return RenderRemovalPreview(j); });
}

Status RunProviderRemove(const AdminContext& context, const std::string& id,
                         const std::string& policy) {
  return CallAndPrint(
      context, "DELETE", ProviderPath(id) + "?policy=" + EscapePathSegment(policy), nullptr,
      [](const Json& j) -> Result<std::string> { return RenderProviderRemoval(j); });
}

Status RunProviderPut(const AdminContext& context, const std::string& id, const std::string& file) {
  MODELRT_ASSIGN_OR_RETURN(Json provider, ReadProviderFile(file));
  MODELRT_ASSIGN_OR_RETURN(HttpAnswer answer,
                           context.client.Call("PUT", ProviderPath(id), &provider));
  Print(context, answer, RenderProviderPut);
  return FailuresToStatus("provider " + id + " saved", answer.json);
}

}  // namespace modelrt::cli
