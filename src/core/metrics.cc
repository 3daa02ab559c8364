#include "modelrt/metrics.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/thread_annotations.h"

namespace modelrt {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

double Histogram::Quantile(double q) const {
  uint64_t total = Count();
  if (total == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
  uint64_t seen = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    seen += BucketCount(i);
    if (seen >= rank) return i < bounds_.size() ? bounds_[i] : INFINITY;
  }
  return INFINITY;
}

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};
}

struct MetricsRegistry::Families {
  // The family `name`, created with `help` and `type` on first use.
  Family& Get(const std::string& name, const std::string& help, Type type) REQUIRES(mu) {
    auto [it, inserted] = by_name.try_emplace(name);
    if (inserted) {
      it->second.type = type;
      it->second.help = help;
    }
    return it->second;
  }

  // Guards the maps, not the series: Counter/Gauge/Histogram are atomics, and a series, once
  // created, lives as long as the registry (callers keep references to it).
  mutable Mutex mu;
  std::map<std::string, Family> by_name GUARDED_BY(mu);
};

MetricsRegistry::MetricsRegistry() : families_(std::make_unique<Families>()) {}
MetricsRegistry::~MetricsRegistry() = default;

Counter& MetricsRegistry::GetCounter(const std::string& name, const std::string& help,
                                     const Labels& labels) {
  MutexLock lock(families_->mu);
  auto& slot = families_->Get(name, help, Type::kCounter).counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& MetricsRegistry::GetGauge(const std::string& name, const std::string& help,
                                 const Labels& labels) {
  MutexLock lock(families_->mu);
  auto& slot = families_->Get(name, help, Type::kGauge).gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& MetricsRegistry::GetHistogram(const std::string& name, const std::string& help,
                                         const Labels& labels, std::vector<double> bounds) {
  MutexLock lock(families_->mu);
  auto& slot = families_->Get(name, help, Type::kHistogram).histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(std::move(bounds));
  return *slot;
}

namespace {

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string EscapeHelp(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// {a="x",b="y"} with an optional extra label (le for histogram buckets).
std::string FormatLabels(const Labels& labels, const char* extra_name = nullptr,
                         const std::string& extra_value = {}) {
  if (labels.empty() && !extra_name) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k + "=\"" + EscapeLabelValue(v) + "\"";
  }
  if (extra_name) {
    if (!first) out += ',';
    out += std::string(extra_name) + "=\"" + extra_value + "\"";
  }
  return out + "}";
}

std::string FormatNumber(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

}  // namespace

std::string MetricsRegistry::RenderPrometheus() const {
  MutexLock lock(families_->mu);
  std::string out;
  for (const auto& [name, family] : families_->by_name) {
    const char* type = family.type == Type::kCounter ? "counter"
                       : family.type == Type::kGauge ? "gauge"
                                                      : "histogram";
    out += "# HELP " + name + " " + EscapeHelp(family.help) + "\n";
    out += "# TYPE " + name + " " + type + "\n";
    for (const auto& [labels, c] : family.counters)
      out += name + FormatLabels(labels) + " " + FormatNumber(c->Value()) + "\n";
    for (const auto& [labels, g] : family.gauges)
      out += name + FormatLabels(labels) + " " + FormatNumber(g->Value()) + "\n";
    for (const auto& [labels, h] : family.histograms) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= h->bounds().size(); ++i) {
        cumulative += h->BucketCount(i);
        std::string le = i < h->bounds().size() ? FormatNumber(h->bounds()[i]) : "+Inf";
        out += name + "_bucket" + FormatLabels(labels, "le", le) + " " +
               std::to_string(cumulative) + "\n";
      }
      out += name + "_sum" + FormatLabels(labels) + " " + FormatNumber(h->Sum()) + "\n";
      out += name + "_count" + FormatLabels(labels) + " " + std::to_string(cumulative) + "\n";
    }
  }
  return out;
}

}  // namespace modelrt
