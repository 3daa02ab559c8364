// Converts a yaml-cpp node tree to nlohmann::json; see yaml_to_json.h.
#include "catalog/yaml_to_json.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <sstream>
#include <string>

#include "catalog/yaml_scalar.h"
#include "core/json.h"

namespace modelrt::catalog {
namespace {

// Aliases can make a small file expand exponentially ("billion laughs"); a config never comes
// near these limits, so hitting one means a hostile or broken file.
constexpr int kMaxDepth = 64;
constexpr int64_t kMaxNodes = 1'000'000;

// The YAML 1.2 core tag for strings: `!!str 42` must stay "42".
constexpr std::string_view kStrTag = "tag:yaml.org,2002:str";

std::string Where(const YAML::Mark& mark) {
  if (mark.is_null()) return "";
  return " (line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1) +
         ")";
}

std::string ChildPath(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

// Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF). nlohmann::json throws
// when it serialises invalid UTF-8, so such text must never get into a Json.
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    int extra = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;  // truncated sequence
    for (int k = 1; k <= extra; ++k) {
      unsigned char cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

class Converter {
 public:
  Result<Json> Convert(const YAML::Node& node, const std::string& path, int depth) {
    if (depth > kMaxDepth) return Error(path, "nested too deeply", node.Mark());
    if (++nodes_ > kMaxNodes) return Error(path, "too many nodes (alias expansion?)", node.Mark());
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null: return Json(nullptr);
      case YAML::NodeType::Scalar: return ConvertScalar(node, path);
      case YAML::NodeType::Sequence: return ConvertSequence(node, path, depth);
      case YAML::NodeType::Map: return ConvertMap(node, path, depth);
    }
    return Error(path, "unsupported YAML node", node.Mark());
  }

 private:
  static Status Error(const std::string& path, const std::string& reason, const YAML::Mark& mark) {
    return InvalidArgumentError((path.empty() ? "" : path + ": ") + reason + Where(mark));
  }

  Result<Json> ConvertScalar(const YAML::Node& node, const std::string& path) {
    const std::string& text = node.Scalar();
    if (!IsValidUtf8(text)) return Error(path, "invalid UTF-8 text", node.Mark());
    // yaml-cpp tags plain scalars "?" and quoted or block scalars "!"; only plain ones are
    // typed. An explicit core tag other than !!str (`!!int 5`) is typed by content too.
    const std::string& tag = node.Tag();
    if (tag == "!" || tag == kStrTag) return Json(text);
    return ResolvePlainScalar(text);
  }

  Result<Json> ConvertSequence(const YAML::Node& node, const std::string& path, int depth) {
    Json out = Json::array();
    size_t index = 0;
    for (const YAML::Node& item : node) {
      MODELRT_ASSIGN_OR_RETURN(Json value,
                               Convert(item, path + "[" + std::to_string(index) + "]", depth + 1));
      out.push_back(std::move(value));
      ++index;
    }
    return out;
  }

  Result<Json> ConvertMap(const YAML::Node& node, const std::string& path, int depth) {
    Json out = Json::object();
    for (const auto& entry : node) {
      const YAML::Node& key_node = entry.first;
      if (!key_node.IsScalar()) {
        return Error(path, "mapping keys must be plain text", key_node.Mark());
      }
      const std::string& key = key_node.Scalar();
      if (!IsValidUtf8(key)) return Error(path, "invalid UTF-8 in a key", key_node.Mark());
      // yaml-cpp keeps both entries of a repeated key; silently taking one would hide a typo.
      if (out.contains(key)) {
        return Error(path, "duplicate key '" + key + "'", key_node.Mark());
      }
      MODELRT_ASSIGN_OR_RETURN(Json value, Convert(entry.second, ChildPath(path, key), depth + 1));
      out[key] = std::move(value);
    }
    return out;
  }

  int64_t nodes_ = 0;
};

// Counts a stream's documents, up to two, and notes where the second starts. yaml-cpp 0.7's
// LoadAll never returns on some malformed streams (a lone ","): its parser reports an empty
// document there again and again without reading on, each one a new node, until memory runs out
// (jbeder/yaml-cpp#1040; fixed upstream after 0.8.0). A config is one document, so the stream is
// followed only until a second document starts, and the first is then loaded alone.
class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2) second_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  int documents() const { return documents_; }
  const YAML::Mark& second() const { return second_; }

 private:
  int documents_ = 0;
  YAML::Mark second_ = YAML::Mark::null_mark();
};

}  // namespace

Result<Json> YamlToJson(std::string_view text) {
  const std::string owned(text);
  YAML::Node document;
  try {
    std::istringstream in(owned);
    YAML::Parser parser(in);
    DocumentCounter counter;
    while (counter.documents() < 2 && parser.HandleNextDocument(counter)) {
    }
    if (counter.documents() == 0) return Json(nullptr);
    if (counter.documents() > 1) {
      return InvalidArgumentError("expected one YAML document, found 2 or more" +
                                  Where(counter.second()));
    }
    document = YAML::Load(owned);
  } catch (const YAML::Exception& e) {
    std::string where = e.mark.is_null() ? ""
                                         : " at line " + std::to_string(e.mark.line + 1) +
                                               ", column " + std::to_string(e.mark.column + 1);
    return InvalidArgumentError("invalid YAML" + where + ": " + e.msg);
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("invalid YAML: ") + e.what());
  }
  try {
    return Converter().Convert(document, "", 0);
  } catch (const std::exception& e) {
    // yaml-cpp's accessors throw only on misuse; keep even that from crossing our API.
    return InvalidArgumentError(std::string("invalid YAML: ") + e.what());
  }
}

}  // namespace modelrt::catalog
