// The Unicode facts the tokenizer.json pipeline needs, as Hugging Face `tokenizers` (Rust)
// defines them: code points from UTF-8 and back, general categories, Rust's White_Space and
// punctuation tests, normalization forms and lowercasing (utf8proc underneath).
//
//   for (char32_t c : Decode(text)) if (IsWhitespace(c)) ...
//   std::string nfd = Normalize(text, NormalForm::kNfd);
//
// Invalid UTF-8 decodes to U+FFFD, one per bad byte, as Rust's from_utf8_lossy would read it.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace modelrt::tokenizer {

std::vector<char32_t> Decode(std::string_view text);
bool IsValidUtf8(std::string_view text);
// The character that starts at byte `i` of `text` (i < text.size()), its length in bytes in
// `*length`: U+FFFD and 1 for a bad byte, as Decode reads it.
char32_t DecodeAt(std::string_view text, size_t i, size_t* length);
void AppendUtf8(std::string& out, char32_t c);
std::string Encode(const std::vector<char32_t>& chars);
// The length in bytes of the extended grapheme cluster (UAX #29, what Rust's
// unicode-segmentation calls graphemes(true)) that starts at byte `i` of `text` (i < size).
size_t GraphemeLength(std::string_view text, size_t i);

// Rust's char::is_whitespace (the White_Space property).
bool IsWhitespace(char32_t c);
// Unicode general categories P* (Pc Pd Ps Pe Pi Pf Po).
bool IsPunctuation(char32_t c);
bool IsAsciiPunctuation(char32_t c);
// Other: Cc Cf Cn Co Cs.
bool IsOther(char32_t c);
// Mn.
bool IsNonspacingMark(char32_t c);
// M* (Mn Mc Me).
bool IsMark(char32_t c);
// L*, N*.
bool IsLetter(char32_t c);
bool IsNumeric(char32_t c);
// Nd.
bool IsDecimalDigit(char32_t c);
// The CJK blocks BERT's normalizer puts spaces around.
bool IsChineseChar(char32_t c);
// Rust regex's \w: alphabetic, marks, decimal digits, connector punctuation, join controls.
bool IsWordChar(char32_t c);

enum class NormalForm { kNfc, kNfd, kNfkc, kNfkd };
std::string Normalize(std::string_view text, NormalForm form);

// Rust's str::to_lowercase (full mappings: U+0130 becomes "i\u0307").
std::string Lowercase(std::string_view text);

}  // namespace modelrt::tokenizer
