// Arbitrary bytes as a config file (ParseConfig: YAML or JSON, each section and model spec), and
// as the JSON bodies of the admin API that go through the same section parsers
// (POST /admin/models: ParseModelSpec; PUT /admin/providers/{id}: ParseProviderConfig).
// Seeds: the README's and the tests' config files, in both formats (corpus/config/).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "modelrt/catalog.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  modelrt::fuzz::QuietLogs();
  // Deeply nested model options, in JSON and YAML (flow style).
  for (const std::string& text :
       {R"({"models": [{"alias": "a", "task": "embed", "model": "m", "options": {"x": )" +
            modelrt::fuzz::Nested(60000) + "}}]}",
        "models: [{alias: a, task: embed, model: m, options: {x: " + modelrt::fuzz::Nested(60000) +
            "}}]\n"}) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using modelrt::ConfigFormat;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (ConfigFormat format : {ConfigFormat::kAuto, ConfigFormat::kYaml, ConfigFormat::kJson}) {
    modelrt::Result<modelrt::Config> config = modelrt::ParseConfig(text, "fuzz.yaml", format);
    if (config.ok() && config->source.empty()) modelrt::fuzz::Fail("a parsed config without a source");
  }
  (void)modelrt::ParseModelSpec(text, "POST /admin/models");
  (void)modelrt::ParseProviderConfig(text, "PUT /admin/providers/p");
  return 0;
}
