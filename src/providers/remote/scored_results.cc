#include "providers/remote/scored_results.h"

#include <string>

#include "providers/remote/answer_json.h"

namespace modelrt::remote {

Result<std::vector<float>> ScoresByIndex(const Json& list, std::string_view path,
                                         const char* score_key, size_t documents) {
  if (!list.is_array() || list.size() != documents) {
    return AnswerError(path, "expected a score for each of " + std::to_string(documents) +
                                 " documents");
  }
  std::vector<float> scores(documents, 0);
  std::vector<bool> seen(documents, false);
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string at = std::string(path) + "[" + std::to_string(i) + "]";
    const int64_t index = IntOr(list[i], "index", -1);
    if (index < 0 || static_cast<size_t>(index) >= documents || seen[index]) {
      return AnswerError(at + ".index", "missing, out of range or repeated");
    }
    MODELRT_ASSIGN_OR_RETURN(const Json* score, Member(list[i], score_key, at + "." + score_key));
    if (!score->is_number()) return AnswerError(at + "." + score_key, "must be a number");
    seen[index] = true;
    scores[index] = score->get<float>();
  }
  return scores;
}

}  // namespace modelrt::remote
