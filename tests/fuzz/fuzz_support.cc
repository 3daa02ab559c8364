#include "fuzz_support.h"

#include <cstdio>
#include <cstdlib>
#include <new>

#include "core/json.h"
#include "modelrt/registry.h"
#include "modelrt/runtime.h"
#include "providers/llama/json_schema_grammar.h"
#include "server/admission_control.h"
#include "server/model_availability.h"

namespace modelrt {

// ---- the runtime, as ModelNames sees it ---------------------------------------------------
// Only these two members are defined: ModelNames calls nothing else, and they read no member,
// so the runtime object itself is never made (see RuntimeStandIn).

Result<ModelStatus> ModelRuntime::Describe(std::string_view alias) const {
  ModelStatus status;
  status.spec.alias = std::string(alias);
  if (alias == "chat") {
    status.spec.task = Task::kGenerate;
  } else if (alias == "embed") {
    status.spec.task = Task::kEmbed;
  } else if (alias == "rerank") {
    status.spec.task = Task::kRerank;
  } else {
    return NotFoundError("no alias '" + std::string(alias) + "'");
  }
  return status;
}

std::vector<ModelStatus> ModelRuntime::List() const {
  std::vector<ModelStatus> out;
  for (const char* alias : {"chat", "embed", "rerank"}) out.push_back(*Describe(alias));
  return out;
}

// ModelNames built over a fixed profile list never reads a registry.
std::shared_ptr<const RegistrySnapshot> Registry::Current() const { std::abort(); }

// ---- what the handlers call after parsing: never reached ----------------------------------
// The handlers' .cc files (embeddings_handler.cc, rerank_handler.cc, ollama_api.cc) are linked
// for their parsers; their request paths go on to admission and the engines, which the targets
// never call. These definitions only satisfy the linker (without relying on --gc-sections,
// which keeps every function with ld.bfd once libFuzzer's PC tables point into it).
[[noreturn]] static void NotInFuzzTarget(const char* what) {
  std::fprintf(stderr, "fuzz target reached %s, which it must not call\n", what);
  std::abort();
}
Result<EmbeddingHandle> ModelRuntime::Embedding(std::string_view) { NotInFuzzTarget("Embedding"); }
Result<RerankerHandle> ModelRuntime::Reranker(std::string_view) { NotInFuzzTarget("Reranker"); }
Result<GeneratorHandle> ModelRuntime::Generator(std::string_view) { NotInFuzzTarget("Generator"); }
void EmbeddingHandle::EmbedAsync(EmbedRequest, CallContext, EmbedDone) const {
  NotInFuzzTarget("EmbedAsync");
}
void RerankerHandle::RerankAsync(RerankRequest, CallContext, RerankDone) const {
  NotInFuzzTarget("RerankAsync");
}
void GeneratorHandle::GenerateAsync(GenerateRequest, TokenCallback, CallContext,
                                    GenerateDone) const {
  NotInFuzzTarget("GenerateAsync");
}

namespace server {
AdmissionControl::Admission AdmissionControl::Admit(const std::string&, int64_t,
                                                    Clock::time_point) {
  NotInFuzzTarget("AdmissionControl::Admit");
}
void AdmissionControl::Ticket::Release() {}  // ~Ticket calls it; no ticket is ever made
AdmissionControl::Ticket& AdmissionControl::Ticket::operator=(Ticket&&) noexcept {
  NotInFuzzTarget("Ticket::operator=");
}
HttpResponse RefusalResponse(const AdmissionControl::Admission&) {
  NotInFuzzTarget("RefusalResponse");
}
HttpResponse CallFailureResponse(const HandlerDeps&, const std::string&, const Status&) {
  NotInFuzzTarget("CallFailureResponse");
}
}  // namespace server

namespace llama {

// Stands in for llama.cpp's converter (providers/llama/json_schema_grammar.cc, not linked):
// text that is not JSON is refused as the real one refuses it; any JSON gives a grammar.
Result<std::string> JsonSchemaToGrammar(const std::string& schema) {
  Json parsed = Json::parse(schema, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return InvalidArgumentError("the JSON schema cannot be enforced");
  return std::string("root ::= \"{\" [^}]* \"}\"");
}

}  // namespace llama

namespace fuzz {
namespace {

// Storage the resolver's runtime reference binds to; the two members above never touch it.
ModelRuntime& RuntimeStandIn() {
  alignas(ModelRuntime) static unsigned char storage[sizeof(ModelRuntime)];
  return *std::launder(reinterpret_cast<ModelRuntime*>(storage));
}

ProfileSpec Profile(std::string name, std::string system, std::string_view params) {
  ProfileSpec p;
  p.name = std::move(name);
  p.model = "chat";
  p.system = std::move(system);
  p.params = *Options::Parse(params);
  return p;
}

}  // namespace

const ModelNames& Resolver() {
  static const ModelNames* names = new ModelNames(
      RuntimeStandIn(),
      {Profile("brief", "Answer in one sentence.",
               R"({"temperature": 0.2, "max_tokens": 64, "stop": ["\n\n"], "seed": 7})"),
       Profile("bad-profile", "", R"({"temperature": "hot", "max_tokens": 999999})")});
  return *names;
}

const ServerConfig& Limits() {
  static const ServerConfig limits;
  return limits;
}

}  // namespace fuzz
}  // namespace modelrt
