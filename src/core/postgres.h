// PgConnection: one libpq connection with the few calls modelrt needs: parameterized queries
// whose values travel apart from the SQL text, transactions, and LISTEN/NOTIFY.
//
//   MODELRT_ASSIGN_OR_RETURN(auto pg, PgConnection::Connect(url));
//   MODELRT_ASSIGN_OR_RETURN(PgResult rows, pg->Exec("SELECT doc FROM t WHERE id = $1", {id}));
//   for (int i = 0; i < rows.size(); ++i) use(rows.Text(i, 0));
//
// A broken connection (the server restarted) is reset once before a query fails, so a replica
// rides out a database restart; an error inside a transaction is the caller's to retry.
// Messages name the server by its redacted URL.
//
// Thread-safety: not thread-safe; each owner keeps one per thread or behind its own mutex.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "modelrt/status.h"

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace modelrt {

// The rows of one query, freed with it.
class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result) {}
  ~PgResult();
  PgResult(PgResult&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
  PgResult& operator=(PgResult&&) = delete;
  PgResult(const PgResult&) = delete;

  int size() const;
  bool IsNull(int row, int col) const;
  std::string Text(int row, int col) const;
  int64_t Int(int row, int col) const;  // 0 for NULL or not a number
  bool Bool(int row, int col) const;    // 't'

 private:
  PGresult* result_;
};

class PgConnection {
 public:
  // Unavailable when the server cannot be reached or refuses us (the reason from libpq).
  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& url);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one statement with $1.. bound to `params` (as text). Unavailable for a lost server,
  // Internal for an SQL error; the message carries PostgreSQL's.
  Result<PgResult> Exec(const std::string& sql, const std::vector<std::string>& params = {});
  // Exec for statements whose rows nobody reads.
  Status Run(const std::string& sql, const std::vector<std::string>& params = {});

  // LISTEN on `channel` (an identifier), then WaitForNotify waits up to `timeout` for a NOTIFY
  // on it: true when one or more arrived (all are consumed), false on timeout.
  Status Listen(const std::string& channel);
  Result<bool> WaitForNotify(std::chrono::milliseconds timeout);

  const std::string& redacted_url() const { return redacted_url_; }

 private:
  PgConnection(PGconn* conn, std::string redacted_url)
      : conn_(conn), redacted_url_(std::move(redacted_url)) {}
  Status Error(const std::string& what) const;
  // Resets a connection libpq reports bad (and LISTENs again). False when that failed too.
  bool Revive();

  PGconn* conn_;
  std::string redacted_url_;
  std::vector<std::string> channels_;
};

// SQL for "now" in Unix milliseconds on the database's clock: leases compare against one clock,
// whatever the replicas' say.
inline constexpr const char* kPgNowMs = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

}  // namespace modelrt
