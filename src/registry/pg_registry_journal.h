// PgRegistryJournal: the registry's journal as a table that replicas share. A write is one
// transaction under an advisory lock: BeginWrite takes the lock and returns what the others
// appended before it, the registry checks its change on top of those, and Append inserts it and
// commits. So the table's order is one history, each change checked against all before it, that
// every replica replays the same way. Each append NOTIFYs kChannel; replicas LISTEN (a
// connection of their own, see Registry) and pull what is new.
//
//   std::vector<JournalEntry> entries;
//   MODELRT_ASSIGN_OR_RETURN(auto journal, PgRegistryJournal::Open(url, &entries));
//   MODELRT_ASSIGN_OR_RETURN(std::vector<JournalEntry> theirs, journal->BeginWrite());
//   ... apply theirs, check the change ...
//   MODELRT_RETURN_IF_ERROR(journal->Append({{"op", "remove_binding"}, {"key", "chat"}}));
//
// Thread-safety: not thread-safe; the Registry calls it under its writers' lock.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/postgres.h"
#include "registry/journal.h"

namespace modelrt::registry {

class PgRegistryJournal : public Journal {
 public:
  static constexpr const char* kChannel = "modelrt_registry";

  // Connects, creates the table when absent and returns every entry in `entries`.
  // Unavailable when the database cannot be reached.
  static Result<std::unique_ptr<PgRegistryJournal>> Open(const std::string& url,
                                                         std::vector<JournalEntry>* entries);

  Status Append(const Json& entry) override;
  Status Rewrite(const std::vector<Json>& entries) override;
  const std::string& name() const override { return pg_->redacted_url(); }
  bool shared() const override { return true; }
  Result<std::vector<JournalEntry>> Pull() override;
  Result<std::vector<JournalEntry>> BeginWrite() override;
  void EndWrite() override;

 private:
  explicit PgRegistryJournal(std::unique_ptr<PgConnection> pg) : pg_(std::move(pg)) {}
  Status InsertAndCommit(const Json& entry);

  std::unique_ptr<PgConnection> pg_;
  int64_t last_seq_ = 0;  // the newest entry seen (pulled or appended)
  bool writing_ = false;  // between BeginWrite and Append or EndWrite: a transaction is open
};

}  // namespace modelrt::registry
