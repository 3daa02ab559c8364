// The demo catalog's model files: stories260K (embedded in the binary) and small generated BERT
// embedding and reranking models. Created on first use; later calls find them and return fast.
//
//   MODELRT_RETURN_IF_ERROR(PrepareDemoModels(data_dir + "/models"));
//   Config config = DefaultConfig(data_dir + "/models");
//
// Thread-safety: safe to call concurrently (files are written atomically).
#pragma once

#include <string>

#include "modelrt/status.h"

namespace modelrt {

Status PrepareDemoModels(const std::string& models_dir);

}  // namespace modelrt
