#include "server/files_handler.h"

#include <fstream>
#include <sstream>

#include "jobs/file_store.h"
#include "server/error_mapper.h"
#include "server/multipart.h"

namespace modelrt::server {

HttpResponse FilesHandler::operator()(const HttpRequest& request, RequestContext& ctx) const {
  if (deps_.files == nullptr) {
    return ErrorResponse(FailedPreconditionError("this server keeps no files (no data directory)"));
  }
  jobs::FileStore& files = *deps_.files;
  switch (action_) {
    case Action::kUpload: {
      Result<std::vector<MultipartPart>> parts =
          ParseMultipart(request.Header("Content-Type"), request.body);
      if (!parts) return ErrorResponse(parts.error());
      const MultipartPart* purpose = FindPart(*parts, "purpose");
      const MultipartPart* file = FindPart(*parts, "file");
      if (purpose == nullptr) return ErrorResponse(InvalidArgumentError("purpose is required"), "purpose");
      if (file == nullptr) return ErrorResponse(InvalidArgumentError("file is required"), "file");
      Result<jobs::StoredFile> stored =
          files.Create(purpose->data, file->filename.empty() ? "upload" : file->filename, file->data);
      if (!stored) return ErrorResponse(stored.error());
      return JsonResponse(200, jobs::ToOpenAiJson(*stored));
    }
    case Action::kList: {
      Json data = Json::array();
      for (const jobs::StoredFile& f : files.List(QueryParam(request.query, "purpose").value_or(""))) {
        data.push_back(jobs::ToOpenAiJson(f));
      }
      return JsonResponse(200, {{"object", "list"}, {"data", data}, {"has_more", false}});
    }
    case Action::kGet: {
      Result<jobs::StoredFile> f = files.Get(ctx.params["id"]);
      if (!f) return ErrorResponse(f.error());
      return JsonResponse(200, jobs::ToOpenAiJson(*f));
    }
    case Action::kContent: {
      Result<jobs::StoredFile> f = files.Get(ctx.params["id"]);
      if (!f) return ErrorResponse(f.error());
      std::ifstream in(f->path, std::ios::binary);
      std::ostringstream content;
      content << in.rdbuf();
      if (!in) return ErrorResponse(UnavailableError("cannot read " + f->id));
      return TextResponse(200, std::move(content).str(), "application/octet-stream");
    }
    case Action::kDelete: {
      const std::string id = ctx.params["id"];
      if (Status s = files.Delete(id); !s.ok()) return ErrorResponse(s);
      return JsonResponse(200, {{"id", id}, {"object", "file"}, {"deleted", true}});
    }
  }
  return ErrorResponse(InternalError("unknown files action"));
}

}  // namespace modelrt::server
