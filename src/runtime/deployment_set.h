// DeploymentSet: one alias served by several deployments (ModelSpec::deployments): the same model
// at several upstreams (Azure regions, two keys with their own rate limits, two vLLM servers), or
// copies of a local one. Each call goes to the healthy deployment with the fewest calls in flight
// for its weight (in flight / weight, lowest first; ties go round in turn, so an idle set spreads
// its calls), and moves on to the next-best one when a deployment fails retryably (unavailable,
// its breaker open, an upstream 5xx, its queue full) before any of the answer was streamed.
//
// The runtime loads each deployment through its own provider (RuntimeCore::LoadModel) and puts
// the set in the pool as the alias's one engine, costing what its parts cost together. A
// deployment that fails to load is left out with a warning while another one loads; the alias's
// next load tries it again.
//
//   std::shared_ptr<Model> set = MakeDeploymentSet(Task::kEmbed, {{east, 2, "azure-east"},
//                                                                 {west, 1, "azure-west"}});
//
// Thread-safety: thread-safe; the parts are engines, which are.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "modelrt/catalog.h"
#include "modelrt/model.h"
#include "modelrt/provider.h"

namespace modelrt::internal {

struct DeploymentPart {
  std::shared_ptr<Model> model;  // of the set's task
  int weight = 1;
  std::string name;  // "provider/model", for logs
};

// `parts` is not empty and every part's model has `task`.
std::shared_ptr<Model> MakeDeploymentSet(Task task, std::vector<DeploymentPart> parts);

// The spec one deployment loads from: the alias's, with that deployment's provider and model.
ModelSpec DeploymentSpec(const ModelSpec& spec, const Deployment& deployment);

// Every deployment's provider exists (`find` looks one up by id; null when unknown) and takes
// its spec: "cat.yaml: models[3].deployments[1]: unknown provider 'azure-west'".
Status ValidateDeployments(
    const ModelSpec& spec,
    const std::function<std::shared_ptr<Provider>(const std::string&)>& find);

}  // namespace modelrt::internal
