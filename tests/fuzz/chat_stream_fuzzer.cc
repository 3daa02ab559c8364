// A streamed chat answer from an upstream, read as the remote provider reads it
// (remote_models.cc's StreamSink): format->NewChatStream(), Feed() with each chunk as it arrives
// until one fails, then Finish(). Byte 0 picks the wire format (wire_formats.h), byte 1 the
// chunk sizes (fuzz::Chunks); the rest is the body: SSE for OpenAI, Anthropic, Gemini, Vertex and
// Cohere, NDJSON for Ollama. Seeds: the streams the providers document (corpus/chat_stream/).
//
// Beyond "no crash": the answer does not depend on how the body was cut. The pieces handed on,
// whether and where the stream failed, and the final result (text, finish reason, tool calls,
// usage) are the same for the body in one chunk and in many.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "wire_formats.h"

namespace {

using modelrt::fuzz::Fail;

struct Run {
  std::string pieces;
  bool feed_failed = false;
  std::string feed_error;
  bool finished = false;
  std::string summary;  // of the final result
};

// NewToolCallId's ids are random: the same answer read twice gets two.
std::string IdOf(const modelrt::ToolCall& c) {
  bool generated = c.id.size() == 29 && c.id.starts_with("call_") &&
                   c.id.find_first_not_of("0123456789abcdef", 5) == std::string::npos;
  return generated ? "call_<generated>" : c.id;
}

std::string Summary(const modelrt::GenerateResult& r) {
  std::string s = r.text + '\x1f' + r.reasoning_content + '\x1f' +
                  std::to_string(static_cast<int>(r.finish_reason)) + '\x1f' + r.stop_sequence +
                  '\x1f' + std::to_string(r.prompt_tokens) + '/' + std::to_string(r.cached_tokens) +
                  '/' + std::to_string(r.completion_tokens);
  for (const modelrt::ToolCall& c : r.tool_calls) s += '\x1f' + IdOf(c) + ':' + c.name + ':' + c.arguments;
  s += '\x1f' + std::to_string(r.logprobs.size());
  return s;
}

Run Read(const modelrt::remote::WireFormat& format, const std::vector<std::string_view>& chunks) {
  Run run;
  std::unique_ptr<modelrt::remote::ChatStream> stream = format.NewChatStream();
  if (!stream) return run;
  for (std::string_view chunk : chunks) {
    modelrt::Status s = stream->Feed(chunk, [&](std::string_view piece) {
      run.pieces.append(piece);
      run.pieces.push_back('\x1e');
      return true;
    });
    if (!s.ok()) {
      run.feed_failed = true;
      run.feed_error = s.ToString();
      return run;
    }
  }
  modelrt::Result<modelrt::GenerateResult> result = stream->Finish();
  run.finished = result.ok();
  run.summary = result.ok() ? Summary(*result) : result.error().ToString();
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  modelrt::fuzz::QuietLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const modelrt::remote::WireFormat& format = modelrt::fuzz::Format(data[0]);
  std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);
  Run whole = Read(format, modelrt::fuzz::Chunks(body, 0));
  Run pieces = Read(format, modelrt::fuzz::Chunks(body, data[1] | 1));
  // Where a piece boundary falls is the parser's business; their text must agree.
  auto text = [](std::string s) {
    std::erase(s, '\x1e');
    return s;
  };
  if (whole.feed_failed != pieces.feed_failed) {
    std::fprintf(stderr, "whole: %s\npieces: %s\n", whole.feed_error.c_str(),
                 pieces.feed_error.c_str());
    Fail("chunking changed whether the stream failed");
  }
  if (text(whole.pieces) != text(pieces.pieces)) Fail("chunking changed the text handed on");
  if (whole.finished != pieces.finished || whole.summary != pieces.summary) {
    std::fprintf(stderr, "whole: %s\npieces: %s\n", whole.summary.c_str(), pieces.summary.c_str());
    Fail("chunking changed the answer");
  }
  return 0;
}
