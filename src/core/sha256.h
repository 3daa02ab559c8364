// SHA-256 through OpenSSL's EVP: what the model store checks every file against.
//
//   Sha256 hash;
//   hash.Update(chunk);          // as many times as there are chunks
//   std::string hex = hash.HexDigest();  // 64 lower-case hex digits
//   MODELRT_ASSIGN_OR_RETURN(std::string file_hex, Sha256File("/models/m.gguf"));
//
// Thread-safety: a Sha256 is used by one thread at a time; the free functions are thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "modelrt/status.h"

namespace modelrt {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void Update(std::string_view bytes);
  // The digest of everything updated so far; the hash starts over afterwards.
  std::string HexDigest();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string Sha256Hex(std::string_view bytes);
// The file's digest, read in 1 MiB blocks. NotFound / PermissionDenied / Internal naming it.
Result<std::string> Sha256File(const std::string& path);
// 64 hex digits (either case).
bool IsSha256Hex(std::string_view text);

}  // namespace modelrt
