#include "server/multipart.h"

#include "core/ascii_case.h"
#include "core/ascii_trim.h"

namespace modelrt::server {

namespace {

// The value of `key` among `; key=value` parameters (quoted or not); "" when absent.
std::string Parameter(std::string_view header, std::string_view key) {
  size_t pos = 0;
  while ((pos = header.find(';', pos)) != std::string_view::npos) {
    ++pos;
    std::string_view rest = header.substr(pos);
    size_t start = rest.find_first_not_of(" \t");
    if (start == std::string_view::npos) break;
    rest = rest.substr(start);
    size_t eq = rest.find('=');
    if (eq == std::string_view::npos) continue;
    if (!EqualsIgnoreCase(TrimAsciiSpace(rest.substr(0, eq)), key)) continue;
    std::string_view value = rest.substr(eq + 1);
    if (!value.empty() && value.front() == '"') {
      std::string out;
      for (size_t i = 1; i < value.size() && value[i] != '"'; ++i) {
        if (value[i] == '\\' && i + 1 < value.size()) ++i;
        out += value[i];
      }
      return out;
    }
    return std::string(TrimAsciiSpace(value.substr(0, value.find(';'))));
  }
  return "";
}

}  // namespace

Result<std::vector<MultipartPart>> ParseMultipart(std::string_view content_type,
                                                  std::string_view body) {
  std::string_view type = TrimAsciiSpace(content_type.substr(0, content_type.find(';')));
  if (!EqualsIgnoreCase(type, "multipart/form-data")) {
    return InvalidArgumentError("the body must be multipart/form-data (got Content-Type '" +
                                std::string(content_type) + "')");
  }
  const std::string boundary = Parameter(content_type, "boundary");
  if (boundary.empty() || boundary.size() > 200) {
    return InvalidArgumentError("multipart/form-data without a boundary");
  }
  const std::string delimiter = "--" + boundary;
  size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos) return InvalidArgumentError("multipart body without parts");
  std::vector<MultipartPart> parts;
  while (true) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") return parts;  // the closing delimiter
    if (body.substr(pos, 2) != "\r\n") return InvalidArgumentError("malformed multipart delimiter");
    pos += 2;
    const size_t headers_end = body.find("\r\n\r\n", pos);
    if (headers_end == std::string_view::npos) {
      return InvalidArgumentError("multipart part without a header end");
    }
    MultipartPart part;
    std::string_view headers = body.substr(pos, headers_end - pos);
    while (!headers.empty()) {
      size_t eol = headers.find("\r\n");
      std::string_view line = headers.substr(0, eol);
      headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 2);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view name = TrimAsciiSpace(line.substr(0, colon));
      std::string_view value = TrimAsciiSpace(line.substr(colon + 1));
      if (EqualsIgnoreCase(name, "Content-Disposition")) {
        part.name = Parameter(value, "name");
        part.filename = Parameter(value, "filename");
      } else if (EqualsIgnoreCase(name, "Content-Type")) {
        part.content_type = std::string(value);
      }
    }
    const size_t data_start = headers_end + 4;
    const size_t next = body.find("\r\n" + delimiter, data_start);
    if (next == std::string_view::npos) return InvalidArgumentError("multipart part not closed");
    part.data = body.substr(data_start, next - data_start);
    parts.push_back(std::move(part));
    pos = next + 2;
  }
}

const MultipartPart* FindPart(const std::vector<MultipartPart>& parts, std::string_view name) {
  for (const MultipartPart& p : parts) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

}  // namespace modelrt::server
