// `modelrt batch IN.jsonl -o OUT.jsonl`: a Batch API input file run in this process, through
// the same handlers and engines as the server's /v1/batches (jobs/batch_run.h), with a progress
// bar on a terminal. Failed requests go to --errors (default OUT.errors.jsonl). Exit codes: 0 all
// requests answered 2xx, 1 some failed or the input is invalid (each bad line reported).
//
//   modelrt batch requests.jsonl -o responses.jsonl -c models.yaml
//
// Thread-safety: main thread only.
#pragma once

#include <string>

#include "modelrt/status.h"

namespace modelrt::cli {

struct BatchArgs {
  std::string config_path;  // "" = the demo catalog
  std::string input;
  std::string output;
  std::string errors;    // "" = <output>.errors.jsonl
  std::string endpoint;  // "" = the first line's url
  int in_flight = 0;     // 0 = jobs.batch_in_flight
};

Status RunBatchCommand(const BatchArgs& args);

}  // namespace modelrt::cli
