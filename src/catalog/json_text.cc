// Strict JSON parsing with duplicate-key detection; see json_text.h.
#include "catalog/json_text.h"

#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/json.h"

namespace modelrt::catalog {
namespace {

// As YAML configs (yaml_to_json.cc): copying and comparing a value recurse once per level, so a
// file nested tens of thousands deep would overflow the stack; no config comes near this.
constexpr int kMaxDepth = 64;

// Follows the parser's events to know the key path of the value being parsed.
class DuplicateKeyTracker {
 public:
  bool OnEvent(Json::parse_event_t event, const Json& parsed) {
    using Event = Json::parse_event_t;
    switch (event) {
      case Event::object_start:
        EnterElement();
        frames_.push_back({.is_object = true});
        break;
      case Event::array_start:
        EnterElement();
        frames_.push_back({.is_object = false});
        break;
      case Event::object_end:
      case Event::array_end:
        if (!frames_.empty()) frames_.pop_back();
        break;
      case Event::key: OnKey(parsed.get<std::string>()); break;
      case Event::value: EnterElement(); break;
    }
    return true;  // keep every value: the tree is wanted whole
  }

  const std::optional<std::string>& error() const { return error_; }

 private:
  struct Frame {
    bool is_object = true;
    std::set<std::string> keys;
    std::string key;     // the key being parsed, in an object
    int64_t index = -1;  // the element being parsed, in an array
  };

  void EnterElement() {
    if (!frames_.empty() && !frames_.back().is_object) ++frames_.back().index;
  }

  void OnKey(const std::string& key) {
    Frame& top = frames_.back();
    if (!top.keys.insert(key).second && !error_) {
      std::string path = PathOfTop();
      error_ = (path.empty() ? "" : path + ": ") + "duplicate key '" + key + "'";
    }
    top.key = key;
  }

  // The path of the innermost container: each enclosing frame names where its child sits.
  std::string PathOfTop() const {
    std::string path;
    for (size_t i = 0; i + 1 < frames_.size(); ++i) {
      if (frames_[i].is_object) {
        path += (path.empty() ? "" : ".") + frames_[i].key;
      } else {
        path += "[" + std::to_string(frames_[i].index) + "]";
      }
    }
    return path;
  }

  std::vector<Frame> frames_;
  std::optional<std::string> error_;
};

}  // namespace

Result<Json> ParseJsonText(std::string_view text) {
  DuplicateKeyTracker tracker;
  Json json;
  try {
    json = Json::parse(text, [&tracker](int depth, Json::parse_event_t event, Json& parsed) {
      if (depth > kMaxDepth) {
        throw std::length_error("nested deeper than " + std::to_string(kMaxDepth) + " levels");
      }
      return tracker.OnEvent(event, parsed);
    });
  } catch (const Json::parse_error& e) {
    // what() is "[json.exception.parse_error.101] parse error at line 1, column 9: ...";
    // the bracketed id means nothing to a user.
    std::string message = e.what();
    if (size_t end = message.find("] ");
        message.rfind("[json.exception", 0) == 0 && end != std::string::npos) {
      message.erase(0, end + 2);
    }
    return InvalidArgumentError("invalid JSON: " + message);
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("invalid JSON: ") + e.what());
  }
  if (tracker.error()) return InvalidArgumentError(*tracker.error());
  return json;
}

}  // namespace modelrt::catalog
