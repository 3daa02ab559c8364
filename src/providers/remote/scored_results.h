// Reading a ranking answer that lists {index, score} per document, as most rerank APIs do
// (Cohere, Jina, llama-server: "results"/"relevance_score"; Voyage: "data"; TEI: a bare list
// with "score"): every document scored exactly once, in document order.
//
// Thread-safety: a free function over values.
#pragma once

#include <string_view>
#include <vector>

#include "core/json.h"
#include "modelrt/status.h"

namespace modelrt::remote {

// `list` is the answer's list of results (its path `path` for errors); `score_key` names the score.
Result<std::vector<float>> ScoresByIndex(const Json& list, std::string_view path,
                                         const char* score_key, size_t documents);

}  // namespace modelrt::remote
