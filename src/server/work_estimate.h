// How much work a request brings to its model's queue, in estimated tokens: what
// AdmissionControl bounds and measures its rate in. Counting tokens would need the model's
// tokenizer before admission (and a load); bytes / 4 is close for the languages tokenizers are
// trained on, and the rate is measured in the same units, so a constant bias cancels out of the
// estimated wait.
//
//   Admission a = admission.Admit(alias, EstimateWork(embed_request));
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "modelrt/model.h"

namespace modelrt::server {

int64_t EstimateTokens(std::string_view text);
// Every input (token arrays by their length).
int64_t EstimateWork(const EmbedRequest& request);
// The query once per document, as the reranker reads it.
int64_t EstimateWork(std::string_view query, const std::vector<std::string>& documents);
// The prompt or messages, plus max_tokens to generate (a decode step costs more than a prompt
// token; the measured rate absorbs it for a steady mix).
int64_t EstimateWork(const GenerateRequest& request);

}  // namespace modelrt::server
