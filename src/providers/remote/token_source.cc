#include "providers/remote/token_source.h"

#include <fstream>
#include <sstream>
#include <thread>

#include "core/ascii_trim.h"
#include "core/logging.h"
#include "core/subprocess.h"

namespace modelrt::remote {
namespace {

// A command's stderr can be long; its first line says what went wrong.
std::string FirstLine(std::string_view text) {
  text = TrimAsciiSpace(text);
  std::string_view line = text.substr(0, text.find('\n'));
  if (line.size() > 200) line = line.substr(0, 200);
  return std::string(TrimAsciiSpace(line));
}

}  // namespace

Result<std::shared_ptr<TokenSource>> TokenSource::Create(Options options) {
  if (options.command.empty() == options.file.empty()) {
    return InvalidArgumentError(options.where + ": give one of token_command and token_file");
  }
  auto source = std::shared_ptr<TokenSource>(new TokenSource(std::move(options)));
  MODELRT_ASSIGN_OR_RETURN(std::string first, source->Fetch());
  MutexLock lock(source->mu_);
  source->token_ = Token{std::move(first), 1};
  source->fetched_at_ = Clock::now();
  return source;
}

Result<std::string> TokenSource::Fetch() const {
  std::string token;
  if (!options_.command.empty()) {
    const std::string what = options_.where + ": options.token_command: ";
    auto ran = RunCommand({"/bin/sh", "-c", options_.command}, options_.command_timeout, 64 * 1024);
    if (!ran) return InvalidArgumentError(what + ran.error().message());
    if (ran->exit_code != 0) {
      const std::string said = FirstLine(ran->err);
      return InvalidArgumentError(what + "exited with status " + std::to_string(ran->exit_code) +
                                  (said.empty() ? "" : ": " + said));
    }
    token = std::string(TrimAsciiSpace(ran->out));
    if (token.empty()) return InvalidArgumentError(what + "printed no token");
  } else {
    const std::string what = options_.where + ": options.token_file: ";
    std::ifstream in(options_.file, std::ios::binary);
    if (!in) return InvalidArgumentError(what + "cannot read '" + options_.file + "'");
    std::stringstream text;
    text << in.rdbuf();
    token = std::string(TrimAsciiSpace(text.str()));
    if (token.empty()) return InvalidArgumentError(what + "'" + options_.file + "' is empty");
  }
  if (token.find_first_of("\r\n") != std::string::npos) {
    // It goes into a header line: a second line would be a header of its own.
    return InvalidArgumentError(options_.where + ": the token has more than one line");
  }
  return token;
}

TokenSource::Token TokenSource::Current() {
  MutexLock lock(mu_);
  if (!fetching_ && Clock::now() - fetched_at_ >= options_.refresh_every) StartFetch();
  return token_;
}

void TokenSource::RefreshAfter(uint64_t refused, std::function<void(Status)> done) {
  {
    MutexLock lock(mu_);
    if (token_.generation <= refused) {
      waiting_.push_back(std::move(done));
      if (!fetching_) StartFetch();
      return;
    }
  }
  done(OkStatus());
}

void TokenSource::StartFetch() {
  fetching_ = true;
  std::thread([self = shared_from_this()] { self->FinishFetch(self->Fetch()); }).detach();
}

void TokenSource::FinishFetch(Result<std::string> fetched) {
  std::vector<std::function<void(Status)>> waiting;
  {
    MutexLock lock(mu_);
    fetching_ = false;
    // A failed refresh keeps the token we have (it may still be valid) and tries again after
    // another refresh_every; a caller that asked because it was refused gets the error.
    fetched_at_ = Clock::now();
    if (fetched) token_ = Token{*std::move(fetched), token_.generation + 1};
    waiting.swap(waiting_);
  }
  if (!fetched) Log("remote")->warn("{}", fetched.error().message());
  const Status status = fetched ? OkStatus() : fetched.error();
  for (auto& done : waiting) done(status);
}

}  // namespace modelrt::remote
