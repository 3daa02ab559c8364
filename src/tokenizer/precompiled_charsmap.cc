#include "tokenizer/precompiled_charsmap.h"

#include <cstring>

#include "tokenizer/unicode.h"

namespace modelrt::tokenizer {
namespace {

// A unit of darts-clone's double array. An edge unit: bits 0-7 the byte that leads to it, bit 8
// set when a key ends here (its value is then in the unit at the child offset), bits 10-30 the
// offset of its children, shifted left by 8 more when bit 9 is set. A value unit has bit 31 set,
// which keeps it from matching any byte as an edge.
uint32_t ChildOffset(uint32_t unit) { return (unit >> 10) << ((unit & (1u << 9)) >> 6); }
uint32_t Label(uint32_t unit) { return unit & ((1u << 31) | 0xFF); }
bool HasLeaf(uint32_t unit) { return (unit >> 8) & 1; }
uint32_t Value(uint32_t unit) { return unit & ((1u << 31) - 1); }

Status CharsmapError(const std::string& reason) {
  return InvalidArgumentError("precompiled_charsmap: " + reason);
}

uint32_t ReadLittleEndian32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
}

}  // namespace

Result<PrecompiledCharsmap> PrecompiledCharsmap::Parse(std::string blob) {
  if (blob.size() < 4) {
    return CharsmapError("the blob is " + std::to_string(blob.size()) +
                         " bytes, too short for the trie's size");
  }
  const uint32_t trie_bytes = ReadLittleEndian32(blob.data());
  if (trie_bytes == 0 || trie_bytes % 4 != 0) {
    return CharsmapError("the trie's size (" + std::to_string(trie_bytes) +
                         " bytes) is not a positive multiple of 4");
  }
  if (trie_bytes > blob.size() - 4) {
    return CharsmapError("the trie is said to be " + std::to_string(trie_bytes) +
                         " bytes but only " + std::to_string(blob.size() - 4) +
                         " follow (truncated?)");
  }
  std::vector<uint32_t> units(trie_bytes / 4);
  for (size_t i = 0; i < units.size(); ++i) units[i] = ReadLittleEndian32(blob.data() + 4 + 4 * i);
  std::string strings = blob.substr(4 + trie_bytes);
  // `tokenizers` holds them as a Rust String and refuses the blob otherwise.
  if (!IsValidUtf8(strings)) return CharsmapError("the replacement strings are not valid UTF-8");
  PrecompiledCharsmap map(std::move(units), std::move(strings));
  MODELRT_RETURN_IF_ERROR(map.Validate());
  return map;
}

// Every state the trie can reach, each once (a corrupt array may have cycles): each edge out of
// it must lead to a rule whose value unit is in the array and whose replacement starts on a
// character and ends with a NUL inside the blob.
Status PrecompiledCharsmap::Validate() const {
  // A state at or past the last full block of 256 has no children in the array: s ^ c for a
  // byte c stays in the same block.
  std::vector<bool> seen((units_.size() + 255) / 256 * 256, false);
  std::vector<size_t> pending = {ChildOffset(units_[0])};
  while (!pending.empty()) {
    const size_t state = pending.back();
    pending.pop_back();
    if (state >= seen.size() || seen[state]) continue;
    seen[state] = true;
    for (uint32_t c = 1; c < 256; ++c) {
      const size_t edge = state ^ c;
      if (edge >= units_.size() || Label(units_[edge]) != c) continue;
      const size_t next = edge ^ ChildOffset(units_[edge]);
      if (HasLeaf(units_[edge])) {
        if (next >= units_.size()) {
          return CharsmapError("a rule's value is at unit " + std::to_string(next) +
                               ", past the trie's " + std::to_string(units_.size()) + " units");
        }
        const uint32_t value = Value(units_[next]);
        if (value >= strings_.size() || strings_.find('\0', value) == std::string::npos) {
          return CharsmapError("a rule's replacement at offset " + std::to_string(value) +
                               " is not a NUL-terminated string inside the " +
                               std::to_string(strings_.size()) + " bytes of replacements");
        }
        if ((static_cast<unsigned char>(strings_[value]) & 0xC0) == 0x80) {
          return CharsmapError("a rule's replacement at offset " + std::to_string(value) +
                               " starts inside a UTF-8 character");
        }
      }
      pending.push_back(next);
    }
  }
  return OkStatus();
}

template <typename OnMatch>
void PrecompiledCharsmap::Walk(std::string_view key, OnMatch on_match) const {
  size_t state = ChildOffset(units_[0]);
  for (size_t i = 0; i < key.size(); ++i) {
    const auto c = static_cast<unsigned char>(key[i]);
    if (c == 0) return;  // keys are C strings in SentencePiece
    const size_t edge = state ^ c;
    if (edge >= units_.size() || Label(units_[edge]) != c) return;
    state = edge ^ ChildOffset(units_[edge]);
    // Validate saw every reachable rule, so `state` is in range here; checked all the same.
    if (HasLeaf(units_[edge]) && state < units_.size() && !on_match(i + 1, Value(units_[state]))) {
      return;
    }
  }
}

PrecompiledCharsmap::Match PrecompiledCharsmap::MatchAt(size_t length, uint32_t value) const {
  const char* start = strings_.data() + value;
  return {length, std::string_view(start, std::strlen(start))};
}

std::optional<PrecompiledCharsmap::Match> PrecompiledCharsmap::FirstMatch(
    std::string_view text) const {
  std::optional<Match> found;
  Walk(text, [&](size_t length, uint32_t value) {
    found = MatchAt(length, value);
    return false;
  });
  return found;
}

std::optional<PrecompiledCharsmap::Match> PrecompiledCharsmap::LongestMatch(
    std::string_view text) const {
  std::optional<Match> found;
  Walk(text, [&](size_t length, uint32_t value) {
    found = MatchAt(length, value);
    return true;
  });
  return found;
}

std::string PrecompiledCharsmap::Normalize(std::string_view text) const {
  std::string valid;
  if (!IsValidUtf8(text)) {
    valid = Encode(Decode(text));
    text = valid;
  }
  std::string out;
  out.reserve(text.size());
  for (size_t at = 0; at < text.size();) {
    const std::string_view grapheme = text.substr(at, GraphemeLength(text, at));
    at += grapheme.size();
    // tokenizers' precompiled.rs: "Yes, this is weird, yes, this seems broken", kept because it
    // matched SentencePiece on XNLI for mBART, XLM-R and Marian when it was written.
    if (grapheme.size() < 6) {
      if (auto rule = FirstMatch(grapheme)) {
        out += rule->replacement;
        continue;
      }
    }
    for (size_t i = 0, n = 0; i < grapheme.size(); i += n) {
      DecodeAt(grapheme, i, &n);
      const std::string_view character = grapheme.substr(i, n);
      auto rule = FirstMatch(character);
      out += rule ? rule->replacement : character;
    }
  }
  return out;
}

}  // namespace modelrt::tokenizer
