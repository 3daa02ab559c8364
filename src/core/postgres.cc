#include "core/postgres.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cstdlib>

#include "core/postgres_url.h"

namespace modelrt {

namespace {

std::string Trimmed(const char* message) {
  std::string text = message == nullptr ? "" : message;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

PgResult::~PgResult() { PQclear(result_); }
int PgResult::size() const { return result_ == nullptr ? 0 : PQntuples(result_); }
bool PgResult::IsNull(int row, int col) const { return PQgetisnull(result_, row, col) != 0; }
std::string PgResult::Text(int row, int col) const {
  return std::string(PQgetvalue(result_, row, col),
                     static_cast<size_t>(PQgetlength(result_, row, col)));
}
int64_t PgResult::Int(int row, int col) const {
  return IsNull(row, col) ? 0 : std::strtoll(PQgetvalue(result_, row, col), nullptr, 10);
}
bool PgResult::Bool(int row, int col) const {
  return !IsNull(row, col) && PQgetvalue(result_, row, col)[0] == 't';
}

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& url) {
  // Ours first: the URL's own options (expanded from dbname) override them.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"5", "modelrt", url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return UnavailableError("postgresql: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = Trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    return UnavailableError("postgresql " + RedactUrl(url) + ": " + message);
  }
  // Notices (e.g. "relation already exists, skipping") are not errors: keep them off stderr.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(conn, RedactUrl(url)));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

Status PgConnection::Error(const std::string& what) const {
  return UnavailableError("postgresql " + redacted_url_ + ": " + what + ": " +
                          Trimmed(PQerrorMessage(conn_)));
}

bool PgConnection::Revive() {
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) return false;
  for (const std::string& channel : channels_) {
    PGresult* r = PQexec(conn_, ("LISTEN \"" + channel + "\"").c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) return false;
  }
  return true;
}

Result<PgResult> PgConnection::Exec(const std::string& sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::string& p : params) values.push_back(p.c_str());
  // Left broken by an earlier call (the server was away then): nothing of it is open any more.
  if (PQstatus(conn_) == CONNECTION_BAD && !Revive()) return Error("connection lost");
  for (int attempt = 0;; ++attempt) {
    // Only a statement outside a transaction is retried on a new connection: inside one, the
    // rest of the transaction died with the old connection.
    const bool idle = PQtransactionStatus(conn_) == PQTRANS_IDLE;
    PGresult* raw = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                 values.data(), nullptr, nullptr, 0);
    const ExecStatusType status = PQresultStatus(raw);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return PgResult(raw);
    const std::string message = Trimmed(raw == nullptr ? PQerrorMessage(conn_)
                                                       : PQresultErrorMessage(raw));
    PQclear(raw);
    if (PQstatus(conn_) == CONNECTION_BAD) {
      if (attempt == 0 && idle && Revive()) continue;
      return Error("connection lost");
    }
    return InternalError("postgresql: " + message);
  }
}

Status PgConnection::Run(const std::string& sql, const std::vector<std::string>& params) {
  Result<PgResult> result = Exec(sql, params);
  return result.ok() ? OkStatus() : result.error();
}

Status PgConnection::Listen(const std::string& channel) {
  MODELRT_RETURN_IF_ERROR(Run("LISTEN \"" + channel + "\""));
  channels_.push_back(channel);
  return OkStatus();
}

Result<bool> PgConnection::WaitForNotify(std::chrono::milliseconds timeout) {
  auto drain = [this] {
    bool any = false;
    while (PGnotify* n = PQnotifies(conn_)) {
      any = true;
      PQfreemem(n);
    }
    return any;
  };
  if (PQconsumeInput(conn_) != 0 && drain()) return true;
  pollfd fd{.fd = PQsocket(conn_), .events = POLLIN, .revents = 0};
  if (fd.fd >= 0 && poll(&fd, 1, static_cast<int>(timeout.count())) == 0) return false;
  if (PQconsumeInput(conn_) == 0 || fd.fd < 0) {
    // Lost: whatever was sent meanwhile is gone too, so the caller is told to look.
    if (!Revive()) return Error("connection lost");
    return true;
  }
  return drain();
}

}  // namespace modelrt
