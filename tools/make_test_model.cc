// modelrt-testmodel: writes a random-weight GGUF model with a real tokenizer, for tests,
// benchmarks and demos (see src/providers/llama/test_model_writer.h).
//
//   modelrt-testmodel --kind embed --out /tmp/embed.gguf --seed 7 --pooling mean
//   modelrt-testmodel --kind rerank --out /tmp/rerank.gguf
//   modelrt-testmodel --kind llama --out /tmp/llama.gguf --embd 128 --layers 4
//
// Errors print one line on stderr and exit with status 1.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "providers/llama/test_model_writer.h"

using modelrt::llama::TestModelKind;
using modelrt::llama::TestModelSpec;

int main(int argc, char** argv) {
  CLI::App app{"Writes a random-weight GGUF test model with a real tokenizer."};
  app.name("modelrt-testmodel");
  TestModelSpec spec;
  std::string pooling;
  std::string kind;
  const std::map<std::string, TestModelKind> kinds = {{"embed", TestModelKind::kBertEmbed},
                                                      {"rerank", TestModelKind::kBertRerank},
                                                      {"llama", TestModelKind::kLlama}};
  app.add_option("--kind", kind, "embed (BERT, CLS pooling), rerank (BERT, rank), llama")
      ->required();
  app.add_option("--out", spec.path, "output file (replaced atomically)")->required();
  app.add_option("--seed", spec.seed, "random seed (same seed, same bytes)");
  app.add_option("--embd", spec.embd, "embedding size")->check(CLI::Range(1, 8192));
  app.add_option("--layers", spec.layers, "transformer blocks")->check(CLI::Range(1, 64));
  app.add_option("--heads", spec.heads, "attention heads")->check(CLI::Range(1, 1024));
  app.add_option("--ff", spec.ff, "feed-forward size")->check(CLI::Range(1, 32768));
  app.add_option("--ctx", spec.ctx, "training context length")->check(CLI::Range(1, 1 << 20));
  app.add_option("--pooling", pooling, "pooling stored in the model: mean | cls | last")
      ->check(CLI::IsMember({"mean", "cls", "last"}));
  std::string chat_template_file;
  app.add_option("--chat-template", chat_template_file,
                 "a Jinja chat template file written into a llama model (tokenizer.chat_template)")
      ->check(CLI::ExistingFile);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "modelrt-testmodel: %s\n", e.what());
    return 1;
  }
  auto it = kinds.find(kind);
  if (it == kinds.end()) {
    std::fprintf(stderr, "modelrt-testmodel: --kind must be one of embed, rerank, llama (got '%s')\n",
                 kind.c_str());
    return 1;
  }
  spec.kind = it->second;
  if (pooling == "mean") spec.pooling = 1;
  if (pooling == "cls") spec.pooling = 2;
  if (pooling == "last") spec.pooling = 3;
  if (!chat_template_file.empty()) {
    std::ifstream in(chat_template_file, std::ios::binary);
    spec.chat_template.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  modelrt::Status status = modelrt::llama::WriteTestModel(spec);
  if (!status.ok()) {
    std::fprintf(stderr, "modelrt-testmodel: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
