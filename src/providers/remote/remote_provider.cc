#include "providers/remote/remote_provider.h"

#include <future>

#include "catalog/field_reader.h"
#include "catalog/options_json.h"
#include "core/logging.h"
#include "providers/remote/anthropic_format.h"
#include "providers/remote/cohere_format.h"
#include "providers/remote/gemini_format.h"
#include "providers/remote/ollama_format.h"
#include "providers/remote/tei_format.h"
#include "providers/remote/openai_format.h"
#include "providers/remote/remote_models.h"
#include "providers/remote/upstream_caller.h"
#include "providers/remote/vertex_format.h"

namespace modelrt::remote {
namespace {

struct RemoteType {
  const char* type;
  const char* default_base_url;  // "" = base_url required
  std::shared_ptr<const WireFormat> (*format)(const RemoteSettings& settings);
};

template <OpenAiFormat::Kind kind>
std::shared_ptr<const WireFormat> OpenAiFamily(const RemoteSettings&) {
  return std::make_shared<OpenAiFormat>(OpenAiFormat::Dialect{.kind = kind});
}
template <typename Format>
std::shared_ptr<const WireFormat> Plain(const RemoteSettings&) {
  return std::make_shared<Format>();
}
std::shared_ptr<const WireFormat> AzureOpenAi(const RemoteSettings& settings) {
  return std::make_shared<OpenAiFormat>(OpenAiFormat::Dialect{
      .kind = OpenAiFormat::Kind::kAzure,
      .api_version = settings.api_version.empty() ? "2024-10-21" : settings.api_version});
}

const std::vector<RemoteType>& RemoteTypes() {
  static const std::vector<RemoteType> types = {
      {"openai", "https://api.openai.com/v1", &OpenAiFamily<OpenAiFormat::Kind::kOpenAi>},
      {"azure-openai", "", &AzureOpenAi},  // https://{resource}.openai.azure.com
      {"anthropic", "https://api.anthropic.com", &Plain<AnthropicFormat>},
      {"gemini", "https://generativelanguage.googleapis.com/v1beta", &Plain<GeminiFormat>},
      {"vertex",
       "https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}"
       "/publishers/google",
       &Plain<VertexFormat>},
      {"mistral", "https://api.mistral.ai/v1", &OpenAiFamily<OpenAiFormat::Kind::kMistral>},
      {"cohere", "https://api.cohere.com", &Plain<CohereFormat>},
      {"voyage", "https://api.voyageai.com/v1", &OpenAiFamily<OpenAiFormat::Kind::kVoyage>},
      {"jina", "https://api.jina.ai/v1", &OpenAiFamily<OpenAiFormat::Kind::kJina>},
      {"ollama", "http://127.0.0.1:11434", &Plain<OllamaFormat>},
      {"tei", "", &Plain<TeiFormat>},
  };
  return types;
}

struct ModelOptions {
  int dimensions = 0;
  int context_length = 0;
};

Result<ModelOptions> ReadModelOptions(const ModelSpec& spec) {
  ModelOptions out;
  const std::string where = spec.origin.empty() ? "model '" + spec.alias + "'" : spec.origin;
  MODELRT_ASSIGN_OR_RETURN(
      catalog::FieldReader reader,
      catalog::FieldReader::Create(OptionsJson(spec.options), where, "options",
                                   {"dimensions", "context_length"}));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("dimensions", 1, 1 << 20, &out.dimensions));
  MODELRT_RETURN_IF_ERROR(reader.ReadInt("context_length", 1, 1 << 24, &out.context_length));
  return out;
}

}  // namespace

std::vector<std::string> RemoteProviderTypes() {
  std::vector<std::string> names;
  for (const RemoteType& t : RemoteTypes()) names.push_back(t.type);
  return names;
}

Result<std::shared_ptr<RemoteProvider>> RemoteProvider::Create(const ProviderConfig& config) {
  for (const RemoteType& t : RemoteTypes()) {
    if (config.type != t.type) continue;
    MODELRT_ASSIGN_OR_RETURN(RemoteSettings settings,
                             ReadRemoteSettings(config, t.default_base_url));
    std::shared_ptr<net::HttpClient> client;
    if (settings.ca_file.empty()) {
      client = net::HttpClient::Shared();
    } else {
      net::HttpClient::Options options;
      options.ca_file = settings.ca_file;
      auto own = net::HttpClient::Create(options);
      if (!own) return own.error().WithPrefix(config.origin.empty() ? config.id : config.origin);
      client = *own;
    }
    return std::shared_ptr<RemoteProvider>(new RemoteProvider(
        std::make_shared<const RemoteSettings>(settings), t.format(settings),
        std::move(client)));
  }
  return NotFoundError("'" + config.type + "' is not a remote provider type");
}

Status RemoteProvider::Validate(const ModelSpec& spec) const {
  if (spec.model.empty()) {
    return InvalidArgumentError("model: the upstream's model name is required by provider type '" +
                                settings_->type + "'");
  }
  if (!format_->Supports(spec.task)) {
    return InvalidArgumentError("task: " + std::string(ToString(spec.task)) +
                                " is not offered by provider type '" + settings_->type + "'");
  }
  return ReadModelOptions(spec).status();
}

LoadEstimate RemoteProvider::Estimate(const ModelSpec&) const {
  return LoadEstimate{.memory_bytes = 0, .device = "remote"};
}

std::shared_ptr<net::CircuitBreaker> RemoteProvider::BreakerFor(const std::string& model) {
  MutexLock lock(mu_);
  auto& breaker = breakers_[model];
  if (!breaker) {
    breaker = std::make_shared<net::CircuitBreaker>(net::CircuitBreaker::Options{
        .failure_threshold = settings_->breaker_failures,
        .cool_down = settings_->breaker_cool_down});
  }
  return breaker;
}

std::map<std::string, net::CircuitBreaker::State> RemoteProvider::BreakerStates() const {
  std::map<std::string, net::CircuitBreaker::State> states;
  const auto now = Clock::now();
  MutexLock lock(mu_);
  for (const auto& [model, breaker] : breakers_) states[model] = breaker->state(now);
  return states;
}

Options RemoteProvider::State() const {
  Json breakers = Json::object();
  for (const auto& [model, state] : BreakerStates()) {
    breakers[model] = std::string(net::ToString(state));
  }
  return MakeOptions(Json{{"breakers", std::move(breakers)}});
}

Result<std::shared_ptr<Model>> RemoteProvider::Load(const ModelSpec& spec, const CallContext& ctx) {
  MODELRT_RETURN_IF_ERROR(Validate(spec));
  MODELRT_ASSIGN_OR_RETURN(ModelOptions options, ReadModelOptions(spec));
  auto caller = std::make_shared<UpstreamCaller>(client_, settings_, format_, spec.model,
                                                 BreakerFor(spec.model));
  if (settings_->probe) {
    if (std::optional<UpstreamRequest> probe = format_->Probe(spec.model)) {
      std::promise<std::pair<Status, CallInfo>> answered;
      auto sink = std::make_shared<CollectingSink>();
      caller->Call(std::move(*probe), ctx, CallKind::kWhole, sink,
                   [&answered](Status status, const CallInfo& info) {
                     answered.set_value({std::move(status), info});
                   });
      auto [status, info] = answered.get_future().get();
      // An upstream that refuses the probe's route (404, 405, ...) still answered: it is there.
      // Refusing our key, or failing, is what a load must report.
      const bool reachable = info.http_status >= 400 && info.http_status < 500 &&
                             status.code() != StatusCode::kUpstreamAuthFailed &&
                             info.http_status != 429;
      if (!status.ok() && !reachable) return status;
    }
  }
  RemoteModelParts parts{.format = format_,
                         .caller = std::move(caller),
                         .upstream_model = spec.model,
                         .description = settings_->type + " " + spec.model + " at " +
                                        settings_->base.ToString(),
                         .dimensions = options.dimensions,
                         .context_length = options.context_length};
  Log("remote")->info("{}: {} model {} at {}", spec.alias, settings_->type, spec.model,
                      settings_->base.ToString());
  return MakeRemoteModel(spec.task, std::move(parts));
}

}  // namespace modelrt::remote
