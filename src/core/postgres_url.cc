#include "core/postgres_url.h"

#include <cstdlib>
#include <utility>

namespace modelrt {

namespace {

constexpr std::string_view kSchemes[] = {"postgresql://", "postgres://"};

// [begin, end) of the password in the user part, or npos when there is none. Any scheme: a
// URL refused for its scheme is still shown redacted.
std::pair<size_t, size_t> UserPassword(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {std::string_view::npos, 0};
  const size_t start = scheme_end + 3;
  const size_t authority_end = url.find_first_of("/?", start);
  const std::string_view authority = url.substr(start, authority_end - start);
  const size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return {std::string_view::npos, 0};
  const size_t colon = authority.substr(0, at).find(':');
  if (colon == std::string_view::npos) return {std::string_view::npos, 0};
  return {start + colon + 1, start + at};
}

// [begin, end) of a password= option's value, or npos.
std::pair<size_t, size_t> OptionPassword(std::string_view url) {
  const size_t query = url.find('?');
  if (query == std::string_view::npos) return {std::string_view::npos, 0};
  size_t pos = query + 1;
  while (pos < url.size()) {
    size_t end = url.find('&', pos);
    if (end == std::string_view::npos) end = url.size();
    if (url.substr(pos, end - pos).starts_with("password=")) return {pos + 9, end};
    pos = end + 1;
  }
  return {std::string_view::npos, 0};
}

}  // namespace

bool IsPostgresUrl(std::string_view url) {
  for (std::string_view scheme : kSchemes) {
    if (url.starts_with(scheme)) return true;
  }
  return false;
}

bool UrlHasPassword(std::string_view url) {
  return UserPassword(url).first != std::string_view::npos ||
         OptionPassword(url).first != std::string_view::npos;
}

std::string RedactUrl(std::string_view url) {
  std::string out(url);
  // The option first: it lies after the user part, so replacing it leaves that one's offsets.
  if (auto [begin, end] = OptionPassword(out); begin != std::string::npos) {
    out.replace(begin, end - begin, "***");
  }
  if (auto [begin, end] = UserPassword(out); begin != std::string::npos) {
    out.replace(begin, end - begin, "***");
  }
  return out;
}

Result<std::string> ResolveStoreUrl(std::string_view section, const std::string& store,
                                    const std::string& store_env) {
  if (store_env.empty()) return store;
  const char* value = std::getenv(store_env.c_str());
  const std::string where = std::string(section) + ".store_env: $" + store_env;
  if (value == nullptr || *value == '\0') return InvalidArgumentError(where + " is not set");
  if (!IsPostgresUrl(value)) return InvalidArgumentError(where + " is not a postgresql:// URL");
  return std::string(value);
}

}  // namespace modelrt
