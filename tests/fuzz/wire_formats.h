// The remote providers' wire formats, by number, for the targets that read upstream answers:
// byte 0 of an input picks one (Format(data[0])).
//
//   const remote::WireFormat& format = fuzz::Format(data[0]);
//
// Thread-safety: the formats are immutable.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "providers/remote/anthropic_format.h"
#include "providers/remote/cohere_format.h"
#include "providers/remote/gemini_format.h"
#include "providers/remote/ollama_format.h"
#include "providers/remote/openai_format.h"
#include "providers/remote/tei_format.h"
#include "providers/remote/vertex_format.h"

namespace modelrt::fuzz {

// 0 openai, 1 azure-openai, 2 mistral, 3 voyage, 4 jina, 5 anthropic, 6 gemini, 7 vertex,
// 8 ollama, 9 cohere, 10 tei (a byte picks format byte % 11).
inline const std::vector<std::unique_ptr<remote::WireFormat>>& Formats() {
  using remote::OpenAiFormat;
  static const auto* formats = [] {
    auto* v = new std::vector<std::unique_ptr<remote::WireFormat>>();
    v->push_back(std::make_unique<OpenAiFormat>(OpenAiFormat::Dialect{}));
    v->push_back(std::make_unique<OpenAiFormat>(
        OpenAiFormat::Dialect{OpenAiFormat::Kind::kAzure, "2024-06-01"}));
    v->push_back(std::make_unique<OpenAiFormat>(OpenAiFormat::Dialect{OpenAiFormat::Kind::kMistral}));
    v->push_back(std::make_unique<OpenAiFormat>(OpenAiFormat::Dialect{OpenAiFormat::Kind::kVoyage}));
    v->push_back(std::make_unique<OpenAiFormat>(OpenAiFormat::Dialect{OpenAiFormat::Kind::kJina}));
    v->push_back(std::make_unique<remote::AnthropicFormat>());
    v->push_back(std::make_unique<remote::GeminiFormat>());
    v->push_back(std::make_unique<remote::VertexFormat>());
    v->push_back(std::make_unique<remote::OllamaFormat>());
    v->push_back(std::make_unique<remote::CohereFormat>());
    v->push_back(std::make_unique<remote::TeiFormat>());
    return v;
  }();
  return *formats;
}

inline const remote::WireFormat& Format(uint8_t pick) {
  return *Formats()[pick % Formats().size()];
}

}  // namespace modelrt::fuzz
