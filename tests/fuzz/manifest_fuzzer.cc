// A bundle's manifest.json as read back from the store (store::ManifestFromJson, after the JSON
// parse ReadManifest does), and the references that name bundles and sources
// (store::ParseStoreRef for `model: store://...`, store::ParseSourceRef for pulls), over the same
// bytes.
//
// Beyond "no crash": a manifest that reads has only plain relative file paths, each of which
// stays inside a bundle directory (ConfinedPath, in a scratch directory made at start); written
// back (ManifestToJson) it reads again to the same manifest.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "store/bundle_manifest.h"
#include "store/confined_path.h"
#include "store/source_ref.h"

namespace {

std::filesystem::path* bundle_dir = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  modelrt::fuzz::QuietLogs();
  std::string tmpl = (std::filesystem::temp_directory_path() / "manifest_fuzzer.XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  bundle_dir = new std::filesystem::path(tmpl);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using modelrt::fuzz::Fail;
  namespace store = modelrt::store;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)store::ParseStoreRef(text);
  (void)store::ParseSourceRef(text);

  modelrt::Json json = modelrt::Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return 0;
  auto manifest = store::ManifestFromJson(json);
  if (!manifest) return 0;
  for (const store::ManifestFile& f : manifest->files) {
    if (!store::CheckRelativePath(f.path).ok()) Fail("a manifest file path that is not plain");
    auto where = store::ConfinedPath(*bundle_dir, f.path);
    if (where.ok()) {
      std::string joined = where->lexically_normal().string();
      if (joined.rfind(bundle_dir->string() + "/", 0) != 0) Fail("a manifest path outside its bundle");
    }
    (void)manifest->FindFile(f.path);
  }
  (void)manifest->TotalBytes();
  modelrt::Json back = store::ManifestToJson(*manifest);
  auto again = store::ManifestFromJson(modelrt::Json::parse(back.dump()));
  if (!again) Fail("a manifest written back does not read again");
  if (store::ManifestToJson(*again) != back) Fail("a manifest written back reads differently");
  return 0;
}
