#include "cli/admin_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <exception>

namespace modelrt::cli {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;
using ErrorCode = boost::system::error_code;

std::string SecondsText(std::chrono::milliseconds d) {
  char buf[32];
  if (d.count() % 1000 == 0) {
    std::snprintf(buf, sizeof(buf), "%llds", static_cast<long long>(d.count() / 1000));
  } else {
    std::snprintf(buf, sizeof(buf), "%.1fs", static_cast<double>(d.count()) / 1000.0);
  }
  return buf;
}

StatusCode CodeForHttpStatus(int status) {
  switch (status) {
    case 400:
    case 413:
    case 422:
      return StatusCode::kInvalidArgument;
    case 401:
      return StatusCode::kUnauthenticated;
    case 403:
      return StatusCode::kPermissionDenied;
    case 404:
      return StatusCode::kNotFound;
    case 408:
    case 504:
      return StatusCode::kDeadlineExceeded;
    case 409:
      return StatusCode::kFailedPrecondition;
    case 429:
      return StatusCode::kResourceExhausted;
    case 500:
      return StatusCode::kInternal;
    case 501:
      return StatusCode::kUnimplemented;
    case 502:
    case 503:
      return StatusCode::kUnavailable;
    default:
      return StatusCode::kUnknown;
  }
}

// The first line of a body, at most 160 bytes, control bytes as '?', for an error message.
std::string FirstLine(std::string_view body) {
  std::string out;
  for (char c : body) {
    if (c == '\n' || c == '\r' || out.size() >= 160) break;
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  }
  if (out.size() < body.size()) out += "...";
  return out;
}

// Runs the queued asynchronous operation to completion; the stream's expiry bounds it.
void RunPending(boost::asio::io_context& ioc) {
  ioc.run();
  ioc.restart();
}

// Why a read found no complete answer, in words.
std::string ReadFailure(const ErrorCode& ec, size_t max_body_bytes) {
  if (ec == http::error::end_of_stream) return "the connection closed without an answer";
  if (ec == http::error::partial_message) return "the answer was cut off (connection closed early)";
  if (ec == http::error::body_limit) {
    return "the answer is larger than " + std::to_string(max_body_bytes >> 20) + " MiB";
  }
  if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
    return "not an HTTP answer (" + ec.message() + ")";
  }
  return ec.message();
}

}  // namespace

Status StatusFromHttpError(int status, std::string_view body) {
  std::string message;
  nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_object() && json.contains("error")) {
    const nlohmann::json& error = json["error"];
    if (error.is_object() && error.contains("message") && error["message"].is_string()) {
      message = error["message"].get<std::string>();
    } else if (error.is_string()) {
      message = error.get<std::string>();
    }
  }
  if (message.empty()) message = FirstLine(body);
  if (message.empty()) {
    beast::string_view reason = http::obsolete_reason(static_cast<http::status>(status));
    message = std::string(reason.data(), reason.size());
    if (message.empty() || message == "<unknown-status>") message = "no details";
  }
  return Status(CodeForHttpStatus(status), message + " (HTTP " + std::to_string(status) + ")");
}

Result<HttpAnswer> AdminClient::Exchange(std::string_view method, std::string_view path,
                                         std::string_view body) const try {
  const ServerUrl& server = options_.server;
  auto unreachable = [&](const std::string& why) {
    return UnavailableError("cannot reach modelrt server at " + server.text + ": " + why);
  };
  auto no_answer = [&](const std::string& why) {
    return UnavailableError("no complete answer from modelrt server at " + server.text + ": " +
                            why);
  };
  const http::verb verb = http::string_to_verb(beast::string_view(method.data(), method.size()));
  if (verb == http::verb::unknown) {
    return InvalidArgumentError("unknown HTTP method '" + std::string(method) + "'");
  }

  boost::asio::io_context ioc;
  ErrorCode ec;
  bool resolved = false;
  tcp::resolver resolver(ioc);
  tcp::resolver::results_type endpoints;
  resolver.async_resolve(server.host, std::to_string(server.port),
                         [&](const ErrorCode& e, tcp::resolver::results_type results) {
                           ec = e;
                           endpoints = std::move(results);
                           resolved = true;
                         });
  ioc.run_for(options_.connect_timeout);
  if (!resolved) {  // The resolver has no expiry of its own: cancel it and drain the handler.
    resolver.cancel();
    ioc.restart();
    ioc.run();
    return unreachable("resolving '" + server.host + "' timed out after " +
                       SecondsText(options_.connect_timeout));
  }
  ioc.restart();
  if (ec) return unreachable(ec.message());

  beast::tcp_stream stream(ioc);
  stream.expires_after(options_.connect_timeout);
  stream.async_connect(endpoints, [&](const ErrorCode& e, const tcp::endpoint&) { ec = e; });
  RunPending(ioc);
  if (ec == beast::error::timeout) {
    return unreachable("connecting timed out after " + SecondsText(options_.connect_timeout));
  }
  if (ec) return unreachable(ec.message());

  http::request<http::string_body> request(verb, server.Target(path), 11);
  request.set(http::field::host, server.HostHeader());
  request.set(http::field::user_agent, "modelrt-cli");
  request.set(http::field::accept, "application/json");
  if (!options_.admin_key.empty()) {
    request.set(http::field::authorization, "Bearer " + options_.admin_key);
  }
  if (!body.empty()) request.set(http::field::content_type, "application/json");
  request.body() = std::string(body);
  request.keep_alive(false);
  request.prepare_payload();

  // One deadline for writing and reading: the timeout is how long the whole call may take.
  stream.expires_after(options_.timeout);
  http::async_write(stream, request, [&](const ErrorCode& e, size_t) { ec = e; });
  RunPending(ioc);
  if (ec == beast::error::timeout) {
    return DeadlineExceededError("modelrt server at " + server.text +
                                 " did not take the request within " +
                                 SecondsText(options_.timeout) + " (see --timeout)");
  }
  // A write error is not final: the server may have answered (and closed) before reading all.
  const ErrorCode write_error = ec;

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(options_.max_body_bytes);
  // The head first: Beast 1.74 drops the body-limit error of a Content-Length that arrives
  // together with its body in one read, so the length is checked here before the body is read.
  http::async_read_header(stream, buffer, parser, [&](const ErrorCode& e, size_t) { ec = e; });
  RunPending(ioc);
  if (!ec && parser.content_length() && *parser.content_length() > options_.max_body_bytes) {
    ec = http::error::body_limit;
  }
  if (!ec && !parser.is_done()) {
    http::async_read(stream, buffer, parser, [&](const ErrorCode& e, size_t) { ec = e; });
    RunPending(ioc);
  }
  if (ec == beast::error::timeout) {
    return DeadlineExceededError("no answer from modelrt server at " + server.text + " within " +
                                 SecondsText(options_.timeout) + " (see --timeout)");
  }
  if (ec) {
    if (write_error && ec == http::error::end_of_stream) return no_answer(write_error.message());
    return no_answer(ReadFailure(ec, options_.max_body_bytes));
  }
  ErrorCode ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);

  HttpAnswer answer;
  answer.status = static_cast<int>(parser.get().result_int());
  answer.body = std::move(parser.get().body());
  return answer;
} catch (const std::exception& e) {
  // Asio reports through error codes above; this is for allocation failures and the like.
  return InternalError("admin request failed: " + std::string(e.what()));
}

Result<HttpAnswer> AdminClient::Call(std::string_view method, std::string_view path,
                                     const nlohmann::json* body) const {
  const std::string text =
      body ? body->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) : "";
  MODELRT_ASSIGN_OR_RETURN(HttpAnswer answer, Exchange(method, path, text));
  if (answer.status < 200 || answer.status >= 300) {
    Status status = StatusFromHttpError(answer.status, answer.body);
    if (answer.status == 403 && options_.admin_key.empty()) {
      status = Status(status.code(), status.message() +
                                         "; no admin key was given: set MODELRT_ADMIN_KEY or "
                                         "pass --admin-key-file");
    }
    return status;
  }
  answer.json = nlohmann::json::parse(answer.body, nullptr, false);
  if (answer.json.is_discarded()) {
    return Status(StatusCode::kUnknown, "modelrt server at " + options_.server.text +
                                            " answered HTTP " + std::to_string(answer.status) +
                                            " with a body that is not JSON: '" +
                                            FirstLine(answer.body) + "'");
  }
  return answer;
}

}  // namespace modelrt::cli
