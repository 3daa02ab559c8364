#include "core/cgroup_cpu.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace modelrt {

namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<int64_t> ParseInt(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The process's cgroup path for a controller ("" = the unified v2 hierarchy), from
// /proc/self/cgroup lines "ID:CONTROLLERS:PATH".
std::optional<std::string> CgroupPath(std::string_view controller) {
  std::optional<std::string> lines = ReadFile("/proc/self/cgroup");
  if (!lines) return std::nullopt;
  std::istringstream in(*lines);
  for (std::string line; std::getline(in, line);) {
    const size_t first = line.find(':');
    const size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    std::istringstream names(controllers);
    bool match = controller.empty() && controllers.empty();
    for (std::string name; !match && std::getline(names, name, ',');) match = name == controller;
    if (match) return line.substr(second + 1);
  }
  return std::nullopt;
}

// The process's own cgroup folder under `root`, then `root` itself: inside a container without
// a cgroup namespace the path names the host's folder, and `root` is the container's.
std::vector<std::string> Folders(const std::string& root, const std::optional<std::string>& path) {
  std::vector<std::string> folders;
  if (path && *path != "/") folders.push_back(root + *path);
  folders.push_back(root);
  return folders;
}

}  // namespace

std::optional<int> CoresFromCfsQuota(int64_t quota_us, int64_t period_us) {
  if (quota_us <= 0 || period_us <= 0) return std::nullopt;
  return static_cast<int>(std::clamp<int64_t>(quota_us / period_us, 1, 4096));
}

std::optional<int> CoresFromCpuMax(std::string_view cpu_max) {
  const size_t space = cpu_max.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  if (cpu_max.substr(0, space) == "max") return std::nullopt;
  std::optional<int64_t> quota = ParseInt(cpu_max.substr(0, space));
  std::optional<int64_t> period = ParseInt(cpu_max.substr(space + 1));
  if (!quota || !period) return std::nullopt;
  return CoresFromCfsQuota(*quota, *period);
}

std::optional<int> CgroupCpuLimit() {
  for (const std::string& folder : Folders("/sys/fs/cgroup", CgroupPath(""))) {
    if (std::optional<std::string> cpu_max = ReadFile(folder + "/cpu.max")) {
      return CoresFromCpuMax(*cpu_max);
    }
  }
  for (const std::string& folder : Folders("/sys/fs/cgroup/cpu", CgroupPath("cpu"))) {
    std::optional<std::string> quota = ReadFile(folder + "/cpu.cfs_quota_us");
    std::optional<std::string> period = ReadFile(folder + "/cpu.cfs_period_us");
    if (!quota || !period) continue;
    std::optional<int64_t> q = ParseInt(*quota), p = ParseInt(*period);
    if (q && p) return CoresFromCfsQuota(*q, *p);
  }
  return std::nullopt;
}

}  // namespace modelrt
