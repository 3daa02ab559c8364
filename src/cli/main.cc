// modelrt: the command line. Wires CLI11 parsing to the verbs in commands.h (in-process models),
// serve.h and admin_verbs.h (managing a running server); nothing else.
#include <cstdio>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/admin_verbs.h"
#include "cli/batch_command.h"
#include "cli/job_verbs.h"
#include "cli/commands.h"
#include "cli/serve.h"
#include "cli/store_verbs.h"
#include "core/logging.h"

using namespace modelrt;

namespace {

int Finish(const Status& status) {
  if (status.ok()) return 0;
  std::fprintf(stderr, "modelrt: error: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"modelrt: embedding, reranking and generation models by alias"};
  app.require_subcommand(1);
  cli::CommonArgs common;
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off (stderr)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  auto add_common = [&](CLI::App* cmd) {
    cmd->add_option("-c,--config", common.config_path,
                    "config file (YAML or JSON); default: the embedded demo catalog");
    cmd->add_flag("--json", common.json, "machine-readable output");
  };

  CLI::App* models = app.add_subcommand("models", "list the catalog's aliases");
  add_common(models);

  cli::EmbedArgs embed;
  CLI::App* embed_cmd = app.add_subcommand("embed", "embed texts, one vector per line");
  add_common(embed_cmd);
  embed_cmd->add_option("alias", embed.alias, "embedding model alias")->required();
  embed_cmd->add_option("texts", embed.texts, "texts to embed")->required();
  embed_cmd->add_flag("--no-normalize", embed.no_normalize, "skip L2 normalization");

  cli::RerankArgs rerank;
  CLI::App* rerank_cmd = app.add_subcommand("rerank", "score documents against a query, best first");
  add_common(rerank_cmd);
  rerank_cmd->add_option("alias", rerank.alias, "reranker alias")->required();
  rerank_cmd->add_option("-q,--query", rerank.query, "the query")->required();
  rerank_cmd->add_option("documents", rerank.documents, "documents to score")->required();
  rerank_cmd->add_option("--top-n", rerank.top_n, "keep the best N")->check(CLI::NonNegativeNumber);

  cli::GenerateArgs generate;
  CLI::App* gen_cmd = app.add_subcommand("generate", "generate text, streamed to stdout");
  add_common(gen_cmd);
  gen_cmd->add_option("alias", generate.alias, "generator alias")->required();
  gen_cmd->add_option("prompt", generate.prompt, "the prompt")->required();
  gen_cmd->add_option("-n,--max-tokens", generate.max_tokens, "tokens to generate at most")
      ->check(CLI::Range(1, 1 << 20));
  gen_cmd->add_option("-t,--temperature", generate.temperature, "sampling temperature (0 = greedy)")
      ->check(CLI::Range(0.0, 10.0));
  gen_cmd->add_option("-s,--seed", generate.seed, "sampling seed");
  gen_cmd->add_option("--stop", generate.stop, "stop string (repeatable)");
  gen_cmd->add_option("--system", generate.system, "system prompt (sends a chat)");
  gen_cmd->add_flag("--chat", generate.chat, "render the prompt with the chat template");

  cli::ServeArgs serve;
  CLI::App* serve_cmd = app.add_subcommand("serve", "serve the OpenAI-compatible HTTP API");
  serve_cmd->add_option("-c,--config", serve.config_path,
                        "config file (YAML or JSON); default: the embedded demo catalog");
  serve_cmd->add_option("--host", serve.host, "address to bind (default 127.0.0.1)");
  serve_cmd->add_option("-p,--port", serve.port, "port (default 8080; 0 = any free port)")
      ->check(CLI::Range(0, 65535));

  cli::BatchArgs batch;
  CLI::App* batch_cmd =
      app.add_subcommand("batch", "run a Batch API input file (JSONL) in process, in input order");
  batch_cmd->add_option("-c,--config", batch.config_path,
                        "config file (YAML or JSON); default: the embedded demo catalog");
  batch_cmd->add_option("input", batch.input, "input JSONL: {custom_id, method, url, body} per line")
      ->required()
      ->check(CLI::ExistingFile);
  batch_cmd->add_option("-o,--output", batch.output, "output JSONL, one response per line")
      ->required();
  batch_cmd->add_option("--errors", batch.errors, "failed requests (default OUTPUT.errors.jsonl)");
  batch_cmd->add_option("--endpoint", batch.endpoint, "the endpoint (default: the first line's url)");
  batch_cmd->add_option("--in-flight", batch.in_flight, "requests at once (default jobs.batch_in_flight)")
      ->check(CLI::Range(1, 4096));

  cli::AdminVerbs admin(app);
  cli::StoreVerbs store(app);
  cli::JobVerbs jobs(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "modelrt: error: %s (see --help)\n", e.what());
    return 2;
  }
  if (serve_cmd->parsed()) {
    // A server logs its requests: info unless asked otherwise.
    if (app.get_option("--log-level")->count() == 0) log_level = "info";
    SetLogLevel(log_level);
    return cli::RunServe(serve);
  }
  SetLogLevel(log_level);

  if (models->parsed()) return Finish(cli::RunModels(common));
  if (embed_cmd->parsed()) return Finish(cli::RunEmbed(common, embed));
  if (rerank_cmd->parsed()) return Finish(cli::RunRerank(common, rerank));
  if (gen_cmd->parsed()) return Finish(cli::RunGenerate(common, generate));
  if (batch_cmd->parsed()) return Finish(cli::RunBatchCommand(batch));
  if (std::optional<int> code = admin.RunParsed()) return *code;
  if (std::optional<int> code = store.RunParsed()) return *code;
  if (std::optional<int> code = jobs.RunParsed()) return *code;
  return 2;
}
