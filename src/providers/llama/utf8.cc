#include "providers/llama/utf8.h"

namespace modelrt::llama {
namespace {

// How many bytes the sequence starting with `lead` has; 0 for a continuation or invalid byte.
size_t SequenceLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 0;
}

}  // namespace

size_t CompleteUtf8Prefix(std::string_view text) {
  // Walk back over at most 3 continuation bytes to the last lead byte; if its sequence needs
  // more bytes than are there, it is incomplete.
  size_t n = text.size();
  for (size_t back = 1; back <= 4 && back <= n; ++back) {
    auto byte = static_cast<unsigned char>(text[n - back]);
    if ((byte & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = SequenceLength(byte);
    return (need > back) ? n - back : n;
  }
  return n;
}

}  // namespace modelrt::llama
