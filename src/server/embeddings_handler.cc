#include "server/embeddings_handler.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/json.h"
#include "server/error_mapper.h"
#include "server/json_fields.h"
#include "server/later_answer.h"
#include "server/model_availability.h"
#include "server/served_by.h"
#include "server/work_estimate.h"

namespace modelrt::server {
namespace {

constexpr int64_t kMaxTokenId = (int64_t{1} << 31) - 1;

Result<std::vector<int32_t>> ParseTokens(const Json& array, std::string_view what) {
  std::vector<int32_t> tokens;
  tokens.reserve(array.size());
  for (const Json& t : array) {
    if (!t.is_number_integer()) {
      return InvalidArgumentError(std::string(what) + " must contain only integer token ids");
    }
    int64_t id = t.is_number_unsigned() && t.get<uint64_t>() > static_cast<uint64_t>(kMaxTokenId)
                     ? -1
                     : t.get<int64_t>();
    if (id < 0 || id > kMaxTokenId) {
      return InvalidArgumentError(std::string(what) + " contains an invalid token id " + t.dump());
    }
    tokens.push_back(static_cast<int32_t>(id));
  }
  return tokens;
}

void AppendFloat(std::string& out, float v) {
  if (!std::isfinite(v)) v = 0.0f;  // JSON has no NaN; a broken model must not break the body
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, end);
}

}  // namespace

Result<std::vector<EmbedInput>> EmbeddingsHandler::ParseInput(const Json& input,
                                                              size_t max_inputs) {
  std::vector<EmbedInput> inputs;
  if (input.is_string()) {
    if (input.get_ref<const std::string&>().empty()) {
      return InvalidArgumentError("'input' must not be empty");
    }
    inputs.push_back({.text = input.get<std::string>()});
    return inputs;
  }
  if (!input.is_array()) {
    return InvalidArgumentError(
        "'input' must be a string, an array of strings, an array of token ids or an array of "
        "token-id arrays (got " + std::string(JsonTypeName(input)) + ")");
  }
  if (input.empty()) return InvalidArgumentError("'input' must not be an empty array");
  if (input[0].is_number()) {  // one pre-tokenized input
    MODELRT_ASSIGN_OR_RETURN(std::vector<int32_t> tokens, ParseTokens(input, "'input'"));
    inputs.push_back({.tokens = std::move(tokens)});
    return inputs;
  }
  if (input.size() > max_inputs) {
    return InvalidArgumentError("'input' has " + std::to_string(input.size()) +
                                " items; at most " + std::to_string(max_inputs) +
                                " are allowed per request (server.max_batch_inputs)");
  }
  for (size_t i = 0; i < input.size(); ++i) {
    const Json& item = input[i];
    std::string where = "'input[" + std::to_string(i) + "]'";
    if (item.is_string()) {
      if (item.get_ref<const std::string&>().empty()) {
        return InvalidArgumentError(where + " must not be empty");
      }
      inputs.push_back({.text = item.get<std::string>()});
    } else if (item.is_array()) {
      if (item.empty()) return InvalidArgumentError(where + " must not be an empty array");
      MODELRT_ASSIGN_OR_RETURN(std::vector<int32_t> tokens, ParseTokens(item, where));
      inputs.push_back({.tokens = std::move(tokens)});
    } else {
      return InvalidArgumentError(where + " must be a string or an array of token ids (got " +
                                  std::string(JsonTypeName(item)) + ")");
    }
  }
  return inputs;
}

std::string EmbeddingsHandler::EncodeBase64(const std::vector<float>& v) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(v.size() * sizeof(float), '\0');
  // The wire format is little-endian; so is every platform we build for.
  static_assert(std::endian::native == std::endian::little);
  if (!v.empty()) std::memcpy(bytes.data(), v.data(), bytes.size());
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i < bytes.size()) {
    uint32_t n = uint8_t(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= uint8_t(bytes[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// The JSON written by hand: nlohmann would print each float as a 17-digit double; to_chars gives
// the shortest text that reads back to the same float.
std::string EmbeddingsHandler::Format(const EmbedResult& result, const std::string& model,
                                      bool base64) {
  std::string out;
  // Sized up front (a float prints in at most ~14 characters): one allocation, not one per
  // doubling, for bodies of tens of kilobytes.
  const size_t dims = result.embeddings.empty() ? 0 : result.embeddings[0].size();
  out.reserve(128 + result.embeddings.size() * (64 + dims * (base64 ? 6 : 14)));
  out += R"({"object":"list","data":[)";
  for (size_t i = 0; i < result.embeddings.size(); ++i) {
    if (i) out += ',';
    out += R"({"object":"embedding","index":)" + std::to_string(i) + R"(,"embedding":)";
    if (base64) {
      out += '"' + EncodeBase64(result.embeddings[i]) + '"';
    } else {
      out += '[';
      const auto& e = result.embeddings[i];
      for (size_t j = 0; j < e.size(); ++j) {
        if (j) out += ',';
        AppendFloat(out, e[j]);
      }
      out += ']';
    }
    out += '}';
  }
  out += R"(],"model":)" + Json(model).dump() + R"(,"usage":{"prompt_tokens":)" +
         std::to_string(result.prompt_tokens) + R"(,"total_tokens":)" +
         std::to_string(result.prompt_tokens) + "}}";
  return out;
}

Result<EmbeddingsHandler::Call> EmbeddingsHandler::Parse(const HttpRequest& request) const {
  MODELRT_ASSIGN_OR_RETURN(Json body, ParseJsonObject(request.body));
  MODELRT_ASSIGN_OR_RETURN(std::string name, RequiredString(body, "model"));
  const Json* input_field = FindField(body, "input");
  if (!input_field) return InvalidArgumentError("missing required field 'input'");
  MODELRT_ASSIGN_OR_RETURN(std::optional<std::string> format,
                           OptionalString(body, "encoding_format"));
  Call call;
  if (format && *format == "base64") {
    call.base64 = true;
  } else if (format && *format != "float") {
    return InvalidArgumentError("'encoding_format' must be 'float' or 'base64' (got '" + *format +
                                "')");
  }
  // Any int: its meaning (at least 1, at most the model's size) is the library's to check.
  MODELRT_ASSIGN_OR_RETURN(std::optional<int64_t> dimensions,
                           OptionalInt(body, "dimensions", INT32_MIN, INT32_MAX));
  MODELRT_ASSIGN_OR_RETURN(
      call.request.inputs,
      ParseInput(*input_field, static_cast<size_t>(deps_.limits->max_batch_inputs)));
  if (dimensions) call.request.dimensions = static_cast<int>(*dimensions);
  // An extension of OpenAI's request (Voyage's and Cohere's idea): passed to providers that
  // embed queries and documents differently.
  MODELRT_ASSIGN_OR_RETURN(std::optional<std::string> input_type,
                           OptionalString(body, "input_type"));
  if (input_type) {
    if (*input_type == "query") {
      call.request.input_type = EmbedInputType::kQuery;
    } else if (*input_type == "document") {
      call.request.input_type = EmbedInputType::kDocument;
    } else {
      return InvalidArgumentError("'input_type' must be 'query' or 'document' (got '" +
                                  *input_type + "')");
    }
  }
  MODELRT_ASSIGN_OR_RETURN(call.model,
                           deps_.resolver->Resolve(name, Task::kEmbed, "/v1/embeddings"));
  return call;
}

HttpResponse EmbeddingsHandler::operator()(const HttpRequest& request, RequestContext& ctx) const {
  LaterAnswer later(ctx);
  Result<Call> call = Parse(request);
  if (!call) return ErrorResponse(call.error());
  ctx.model = call->model.name;
  AdmissionControl::Admission admitted =
      deps_.admission->Admit(call->model.alias, EstimateWork(call->request), ctx.call.start_by);
  if (!admitted.ticket) return RefusalResponse(admitted);
  Result<EmbeddingHandle> handle = deps_.runtime->Embedding(call->model.alias);
  if (!handle) return ErrorResponse(handle.error());
  // From here the request holds no thread: the engine's thread formats the answer.
  auto ticket = std::make_shared<AdmissionControl::Ticket>(std::move(*admitted.ticket));
  handle->EmbedAsync(
      std::move(call->request), ctx.call,
      [deps = deps_, alias = call->model.alias, name = call->model.name, base64 = call->base64,
       ticket, &ctx, finish = later.TakeFinish()](Result<EmbedResult> result) {
        ticket->Release();
        if (!result) return finish(CallFailureResponse(deps, alias, result.error()));
        ctx.prompt_tokens = result->prompt_tokens;  // ctx lives until finish (the session)
        ctx.generation = result->generation;
        const std::optional<std::string> fallback = FallbackThatServed(result->served_by, alias);
        HttpResponse response =
            TextResponse(200, Format(*result, fallback.value_or(name), base64), "application/json");
        if (fallback) response.SetHeader(kServedByHeader, *fallback);
        finish(std::move(response));
      });
  return later.Pending();
}

}  // namespace modelrt::server
