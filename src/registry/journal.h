// Journal: where the registry's run-time changes are written before they are published. Two:
// RegistryJournal (a file in the data directory, one process) and PgRegistryJournal (a table in
// PostgreSQL that replicas share; each follows what the others append).
//
// Thread-safety: not thread-safe; the Registry calls it under its writers' lock.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/json.h"
#include "modelrt/status.h"

namespace modelrt::registry {

struct JournalEntry {
  size_t line = 0;  // 1-based line, or the shared journal's sequence number: for messages
  Json json;
};

class Journal {
 public:
  virtual ~Journal() = default;
  // Appends `entry`, durably. On error nothing was appended. A shared journal appends only
  // within BeginWrite.
  virtual Status Append(const Json& entry) = 0;
  // Replaces the whole journal with `entries`, atomically. Not for shared journals.
  virtual Status Rewrite(const std::vector<Json>& entries) = 0;
  // The file's path or the database's redacted URL.
  virtual const std::string& name() const = 0;

  // Others append to it too (the registry then pulls their entries before each write and when
  // told, and never rewrites it).
  virtual bool shared() const { return false; }
  // The entries others appended since the last pull (or the open), in order.
  virtual Result<std::vector<JournalEntry>> Pull() { return std::vector<JournalEntry>{}; }
  // A shared journal: holds off every other writer until Append or EndWrite, and returns what
  // they appended before (Pull's), so the change is checked on top of all that came before it
  // and goes in right after. A no-op for a journal of one process.
  virtual Result<std::vector<JournalEntry>> BeginWrite() { return std::vector<JournalEntry>{}; }
  // Lets the other writers go without appending, when BeginWrite's write is still open.
  virtual void EndWrite() {}
};

}  // namespace modelrt::registry
