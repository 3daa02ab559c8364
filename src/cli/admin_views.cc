#include "cli/admin_views.h"

#include <optional>

#include "cli/human_format.h"
#include "cli/table.h"
#include "core/json.h"

namespace modelrt::cli {
namespace {

constexpr const char* kNone = "-";

const Json* Field(const Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

// A scalar field as text ("-" when missing, null or empty); objects and arrays as compact JSON.
std::string Text(const Json& j, const char* key) {
  const Json* f = Field(j, key);
  if (f == nullptr || f->is_null()) return kNone;
  if (f->is_string()) {
    const std::string& s = f->get_ref<const std::string&>();
    return s.empty() ? kNone : s;
  }
  return f->dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::optional<int64_t> Int(const Json& j, const char* key) {
  const Json* f = Field(j, key);
  if (f == nullptr) return std::nullopt;
  if (f->is_number_integer()) return f->get<int64_t>();
  if (f->is_number_unsigned()) return static_cast<int64_t>(f->get<uint64_t>());
  if (f->is_number_float()) return static_cast<int64_t>(f->get<double>());
  return std::nullopt;
}

std::string IntText(const Json& j, const char* key) {
  std::optional<int64_t> v = Int(j, key);
  return v ? std::to_string(*v) : kNone;
}

bool Bool(const Json& j, const char* key) {
  const Json* f = Field(j, key);
  return f != nullptr && f->is_boolean() && f->get<bool>();
}

// A list field, or nullptr when it is missing or not an array.
const Json* List(const Json& j, const char* key) {
  const Json* f = Field(j, key);
  return f != nullptr && f->is_array() ? f : nullptr;
}

Status MissingList(const char* route, const char* key) {
  return Status(StatusCode::kUnknown,
                std::string("unexpected answer to ") + route + ": no '" + key + "' list");
}

// Names from a list of strings or of objects (their alias, name or id), comma-separated.
std::string Names(const Json* list) {
  if (list == nullptr || list->empty()) return kNone;
  std::string out;
  for (const Json& item : *list) {
    std::string name;
    if (item.is_string()) {
      name = item.get<std::string>();
    } else {
      for (const char* key : {"alias", "name", "id"}) {
        if (name.empty() || name == kNone) name = Text(item, key);
      }
    }
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

std::string LastUsed(const Json& model, int64_t now_s) {
  const Json* f = Field(model, "last_used");
  if (f == nullptr || !f->is_string()) return kNone;
  Result<int64_t> t = ParseUtcTimestamp(f->get<std::string>());
  return t ? FormatAgo(now_s - *t) : f->get<std::string>();
}

std::string Memory(const Json& j) {
  std::optional<int64_t> bytes = Int(j, "memory_bytes");
  return bytes && *bytes > 0 ? FormatMiB(*bytes) : kNone;
}

std::string Duration(const Json& j) {
  std::optional<int64_t> ms = Int(j, "duration_ms");
  return ms ? FormatDurationMs(*ms) : kNone;
}

std::string ProviderTable(const Json& providers) {
  Table table({"ID", "TYPE", "BASE-URL", "KEY-ENV", "OPTIONS"});
  for (const Json& p : providers) {
    table.AddRow({Text(p, "id"), Text(p, "type"), Text(p, "base_url"), Text(p, "api_key_env"),
                  Text(p, "options")});
  }
  return table.Render();
}

// "failed: alias: error" for each entry of the answer's "failed" list.
std::string FailedLines(const Json& answer) {
  std::string out;
  if (const Json* failed = List(answer, "failed")) {
    for (const Json& f : *failed) {
      out += "failed: " +
             (f.is_string() ? f.get<std::string>() : Text(f, "alias") + ": " + Text(f, "error")) +
             "\n";
    }
  }
  return out;
}

}  // namespace

size_t FailedCount(const Json& answer) {
  const Json* failed = List(answer, "failed");
  return failed == nullptr ? 0 : failed->size();
}

std::string StringField(const Json& j, const char* key) {
  const Json* f = Field(j, key);
  return f != nullptr && f->is_string() ? f->get<std::string>() : "";
}

Result<std::string> RenderModels(const Json& answer, int64_t now_s) {
  const Json* data = List(answer, "data");
  if (data == nullptr) return MissingList("GET /admin/models", "data");
  Table table({"ALIAS", "TASK", "STATE", "GEN", "IN-FLIGHT", "MEMORY", "LAST-USED"});
  for (size_t c : {3, 4, 5}) table.AlignRight(c);
  std::string failures;
  for (const Json& m : *data) {
    std::string state = Text(m, "state");
    if (Bool(m, "pinned")) state += " (pinned)";
    table.AddRow({Text(m, "alias"), Text(m, "task"), state, IntText(m, "generation"),
                  IntText(m, "in_flight"), Memory(m), LastUsed(m, now_s)});
    if (Text(m, "last_error") != kNone) {
      failures += Text(m, "alias") + ": last error: " + Text(m, "last_error") + "\n";
    }
  }
  std::string out = table.Render();
  if (!failures.empty()) out += "\n" + failures;
  return out;
}

std::string RenderModelState(const Json& model) {
  std::string out = Text(model, "alias") + ": " + Text(model, "state") + " (generation " +
                    IntText(model, "generation");
  if (Memory(model) != kNone) out += ", " + Memory(model);
  out += ")\n";
  if (Text(model, "last_error") != kNone) out += "last error: " + Text(model, "last_error") + "\n";
  return out;
}

std::string RenderReload(const Json& record) {
  const std::string alias = Text(record, "alias");
  const std::string generations = "generation " + IntText(record, "old_generation") + " -> " +
                                  IntText(record, "new_generation");
  if (Text(record, "outcome") == "succeeded") {
    return alias + ": reloaded, " + generations + " (" + Duration(record) + ")\n";
  }
  return alias + ": reload " + Text(record, "outcome") + " after " + Duration(record) + ": " +
         Text(record, "error") + "\n";
}

Result<std::string> RenderReloads(const Json& answer, int64_t now_s) {
  const Json* reloads = List(answer, "reloads");
  if (reloads == nullptr) return MissingList("GET /admin/reloads", "reloads");
  std::string out = "global generation " + IntText(answer, "global_generation") + "\n\n";
  Table table({"STARTED", "ALIAS", "OLD", "NEW", "OUTCOME", "TRIGGER", "DURATION", "ERROR"});
  for (size_t c : {2, 3, 6}) table.AlignRight(c);
  for (const Json& r : *reloads) {
    std::string started = Text(r, "started_at");
    if (Result<int64_t> t = ParseUtcTimestamp(started)) started = FormatAgo(now_s - *t);
    table.AddRow({started, Text(r, "alias"), IntText(r, "old_generation"),
                  IntText(r, "new_generation"), Text(r, "outcome"), Text(r, "trigger"), Duration(r),
                  Text(r, "error")});
  }
  if (table.rows() == 0) return out + "no reloads yet\n";
  return out + table.Render();
}

Result<std::string> RenderProviders(const Json& answer) {
  const Json* data = List(answer, "data");
  if (data == nullptr) return MissingList("GET /admin/providers", "data");
  return "registry version " + IntText(answer, "version") + "\n\n" + ProviderTable(*data);
}

Result<std::string> RenderRegistry(const Json& answer) {
  const Json* providers = List(answer, "providers");
  if (providers == nullptr) return MissingList("GET /admin/registry", "providers");
  const Json* bindings = List(answer, "bindings");
  if (bindings == nullptr) return MissingList("GET /admin/registry", "bindings");
  std::string out = "registry version " + IntText(answer, "version") + "\n\nPROVIDERS\n";
  out += ProviderTable(*providers) + "\nMODELS\n";
  Table btable({"ALIAS", "TASK", "PROVIDER", "MODEL", "OPTIONS"});
  for (const Json& b : *bindings) {
    btable.AddRow({Text(b, "alias"), Text(b, "task"), Text(b, "provider"), Text(b, "model"),
                   Text(b, "options")});
  }
  out += btable.Render();
  if (const Json* profiles = List(answer, "profiles"); profiles && !profiles->empty()) {
    Table table({"NAME", "MODEL", "SYSTEM"});
    for (const Json& p : *profiles) {
      table.AddRow({Text(p, "name"), Text(p, "model"), Text(p, "system")});
    }
    out += "\nPROFILES\n" + table.Render();
  }
  return out;
}

std::string RenderProvider(const Json& provider, const Json& bindings) {
  std::string out =
      "id:        " + Text(provider, "id") + "\n" + "type:      " + Text(provider, "type") + "\n";
  if (Text(provider, "base_url") != kNone) out += "base_url:  " + Text(provider, "base_url") + "\n";
  if (Text(provider, "api_key_env") != kNone) {
    out += "key env:   " + Text(provider, "api_key_env") + "\n";
  }
  const Json* options = Field(provider, "options");
  out += "options:   " +
         (options ? options->dump(-1, ' ', false, Json::error_handler_t::replace) : kNone) + "\n";
  Json used = Json::array();
  if (bindings.is_array()) {
    for (const Json& b : bindings) {
      if (Text(b, "provider") == Text(provider, "id")) used.push_back(Text(b, "alias"));
    }
  }
  out += "used by:   " + Names(&used) + "\n";
  return out;
}

std::string RenderRemovalPreview(const Json& answer) {
  std::string out = "provider " + Text(answer, "provider") + " (registry version " +
                    IntText(answer, "version") + ")\n";
  out += "bindings:  " + Names(List(answer, "bindings")) + "\n";
  out += "profiles:  " + Names(List(answer, "profiles")) + "\n";
  const Json* allowed = Field(answer, "allowed");
  const Json* reasons = Field(answer, "reasons");
  for (const char* policy : {"block", "cascade"}) {
    const bool ok = allowed != nullptr && Bool(*allowed, policy);
    std::string line = std::string(policy) + ":" + (policy[0] == 'b' ? "     " : "   ") +
                       (ok ? "allowed" : "refused");
    if (reasons != nullptr && Text(*reasons, policy) != kNone)
      line += " - " + Text(*reasons, policy);
    out += line + "\n";
  }
  return out;
}

std::string RenderProviderRemoval(const Json& answer) {
  return "removed provider " + Text(answer, "id") + " (registry version " +
         IntText(answer, "version") +
         "); removed bindings: " + Names(List(answer, "removed_bindings")) + "\n";
}

std::string RenderProviderPut(const Json& answer) {
  std::string out = std::string(Bool(answer, "created") ? "created" : "replaced") + " provider " +
                    Text(answer, "id") + " (registry version " + IntText(answer, "version") + ")\n";
  const Json* reloaded = List(answer, "reloaded");
  if (reloaded != nullptr && !reloaded->empty()) out += "reloaded: " + Names(reloaded) + "\n";
  return out + FailedLines(answer);
}

std::string RenderConfigReload(const Json& answer) {
  std::string out;
  for (const char* key : {"added", "removed", "changed", "reloaded"}) {
    const Json* list = List(answer, key);
    if (list != nullptr && !list->empty()) out += std::string(key) + ": " + Names(list) + "\n";
  }
  if (const Json* providers = Field(answer, "providers"); providers && providers->is_object()) {
    for (const char* key : {"added", "replaced", "removed"}) {
      const Json* list = List(*providers, key);
      if (list != nullptr && !list->empty()) {
        out += std::string("providers ") + key + ": " + Names(list) + "\n";
      }
    }
  }
  if (Bool(answer, "pool_limits_changed")) out += "pool limits changed\n";
  out += FailedLines(answer);
  if (const Json* notes = List(answer, "notes")) {
    for (const Json& note : *notes) {
      out += "note: " +
             (note.is_string() ? note.get<std::string>()
                               : note.dump(-1, ' ', false, Json::error_handler_t::replace)) +
             "\n";
    }
  }
  return out.empty() ? "configuration reloaded: no changes\n" : "configuration reloaded\n" + out;
}

}  // namespace modelrt::cli
