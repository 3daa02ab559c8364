// A multipart/form-data body (RFC 7578) split into its parts, as POST /v1/files receives it.
//
//   MODELRT_ASSIGN_OR_RETURN(std::vector<MultipartPart> parts,
//                            ParseMultipart(request.Header("Content-Type"), request.body));
//   const MultipartPart* file = FindPart(parts, "file");   // file->filename, file->data
//
// Parts point into the body: it must outlive them.
//
// Thread-safety: free functions over values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "modelrt/status.h"

namespace modelrt::server {

struct MultipartPart {
  std::string name;          // Content-Disposition's name
  std::string filename;      // its filename, "" for a plain field
  std::string content_type;  // "" when not given
  std::string_view data;
};

// InvalidArgument for a content type that is not multipart/form-data with a boundary, or a body
// that does not follow it.
Result<std::vector<MultipartPart>> ParseMultipart(std::string_view content_type,
                                                  std::string_view body);
const MultipartPart* FindPart(const std::vector<MultipartPart>& parts, std::string_view name);

}  // namespace modelrt::server
