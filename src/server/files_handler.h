// OpenAI's Files API, for batch inputs and outputs:
//
//   POST   /v1/files                multipart: purpose=batch, file=@in.jsonl
//   GET    /v1/files[?purpose=]     {object: list, data: [file...]}
//   GET    /v1/files/{id}           the file object
//   GET    /v1/files/{id}/content   the bytes
//   DELETE /v1/files/{id}           {id, object: file, deleted: true}
//
// Thread-safety: stateless; safe from many threads.
#pragma once

#include "server/handler_deps.h"
#include "server/http_message.h"
#include "server/request_context.h"

namespace modelrt::server {

class FilesHandler {
 public:
  enum class Action { kUpload, kList, kGet, kContent, kDelete };
  FilesHandler(HandlerDeps deps, Action action) : deps_(deps), action_(action) {}
  HttpResponse operator()(const HttpRequest& request, RequestContext& ctx) const;

 private:
  HandlerDeps deps_;
  Action action_;
};

}  // namespace modelrt::server
