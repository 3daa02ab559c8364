// What the request-parser targets share: a model-name resolver over a fixed catalog and the
// server limits.
//
// The parsers resolve `model` through ModelNames, which asks the runtime what an alias serves;
// fuzz_support.cc defines the two ModelRuntime calls that takes (Describe, List) over a fixed
// table instead of linking the runtime, and stubs llama::JsonSchemaToGrammar (llama.cpp's
// converter, not linked here: a schema that is JSON becomes a fixed grammar, as a schema the
// real converter takes would).
//
//   Result<GenerationCall> call = server::ParseChatRequest(body, fuzz::Resolver(), fuzz::Limits());
//
// Thread-safety: libFuzzer runs one input at a time; the resolver is immutable.
#pragma once

#include "modelrt/catalog.h"
#include "modelrt/model_names.h"

namespace modelrt::fuzz {

// Aliases: "chat" (generate), "embed", "rerank"; profiles: "brief" (over chat, with a system
// prompt and sampling defaults), "bad-profile" (params the request parser must refuse).
const ModelNames& Resolver();
// The server's defaults, with max_choices 8, max_tokens_limit 4096.
const ServerConfig& Limits();

}  // namespace modelrt::fuzz
