#include "models/data_fetch.h"

#include <netdb.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/model_catalog.h"
#include "models/cifar_reader.h"
#include "models/idx_reader.h"
#include "spdlog/spdlog.h"

extern char** environ;

namespace gridrun::models {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxRedirects = 5;
constexpr size_t kMaxHeaderBytes = 64 * 1024;
constexpr const char* kCifarTarball = "cifar-10-binary.tar.gz";

// ---- MD5 ----------------------------------------------------------------------

class Md5 {
 public:
  Md5() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_md5(), nullptr); }
  ~Md5() { EVP_MD_CTX_free(ctx_); }
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;

  void Update(const void* data, size_t n) { EVP_DigestUpdate(ctx_, data, n); }
  std::string FinishHex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx_, digest, &length);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < length; ++i) {
      out.push_back(kHex[digest[i] >> 4]);
      out.push_back(kHex[digest[i] & 15]);
    }
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

// ---- Output file with a running MD5 ---------------------------------------------

class FileSink {
 public:
  static absl::StatusOr<std::unique_ptr<FileSink>> Create(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) {
      return absl::InternalError(absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
    }
    return std::unique_ptr<FileSink>(new FileSink(path, f));
  }
  ~FileSink() {
    if (file_ != nullptr) std::fclose(file_);
  }

  absl::Status Write(const char* data, size_t n) {
    md5_.Update(data, n);
    bytes_ += static_cast<int64_t>(n);
    if (std::fwrite(data, 1, n, file_) != n) {
      return absl::InternalError(absl::StrCat("cannot write ", path_, ": ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }
  // Closes the file; returns the MD5 of everything written.
  absl::StatusOr<std::string> Finish() {
    const int rc = std::fclose(file_);
    file_ = nullptr;
    if (rc != 0) {
      return absl::InternalError(absl::StrCat("cannot write ", path_, ": ", std::strerror(errno)));
    }
    return md5_.FinishHex();
  }
  int64_t bytes() const { return bytes_; }

 private:
  FileSink(std::string path, std::FILE* f) : path_(std::move(path)), file_(f) {}
  std::string path_;
  std::FILE* file_;
  Md5 md5_;
  int64_t bytes_ = 0;
};

// ---- URLs -------------------------------------------------------------------------

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;
  std::string port;
  std::string target;  // path and query, starting with '/'
};

absl::StatusOr<Url> ParseUrl(const std::string& text) {
  Url url;
  const size_t scheme_end = text.find("://");
  if (scheme_end == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("bad URL '", text, "': no scheme"));
  }
  url.scheme = text.substr(0, scheme_end);
  std::transform(url.scheme.begin(), url.scheme.end(), url.scheme.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (url.scheme != "http" && url.scheme != "https") {
    return absl::InvalidArgumentError(
        absl::StrCat("bad URL '", text, "': scheme must be http or https"));
  }
  const size_t authority_begin = scheme_end + 3;
  const size_t path_begin = text.find('/', authority_begin);
  const std::string authority =
      text.substr(authority_begin, path_begin == std::string::npos ? std::string::npos
                                                                   : path_begin - authority_begin);
  url.target = path_begin == std::string::npos ? "/" : text.substr(path_begin);
  url.port = url.scheme == "http" ? "80" : "443";
  if (!authority.empty() && authority[0] == '[') {  // [ipv6]:port
    const size_t close = authority.find(']');
    if (close == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("bad URL '", text, "': unclosed '['"));
    }
    url.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') {
      url.port = authority.substr(close + 2);
    }
  } else {
    const size_t colon = authority.rfind(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string::npos) url.port = authority.substr(colon + 1);
  }
  if (url.host.empty() || url.port.empty() ||
      !std::all_of(url.port.begin(), url.port.end(),
                   [](unsigned char c) { return std::isdigit(c); })) {
    return absl::InvalidArgumentError(absl::StrCat("bad URL '", text, "': bad host or port"));
  }
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= ' ') {
      return absl::InvalidArgumentError(
          absl::StrCat("bad URL '", text, "': contains whitespace or control characters"));
    }
  }
  return url;
}

// RFC 3986 remove_dot_segments on a path (the query, if any, is kept as is).
std::string RemoveDotSegments(const std::string& target) {
  const size_t query = target.find('?');
  const std::string path = target.substr(0, query);
  std::vector<std::string> out;
  size_t begin = 1;  // path starts with '/'
  while (begin <= path.size()) {
    size_t end = path.find('/', begin);
    if (end == std::string::npos) end = path.size();
    const std::string segment = path.substr(begin, end - begin);
    const bool last = end == path.size();
    if (segment == "..") {
      if (!out.empty()) out.pop_back();
      if (last) out.push_back("");
    } else if (segment == ".") {
      if (last) out.push_back("");
    } else {
      out.push_back(segment);
    }
    begin = end + 1;
  }
  std::string result;
  for (const std::string& segment : out) absl::StrAppend(&result, "/", segment);
  if (result.empty()) result = "/";
  return query == std::string::npos ? result : result + target.substr(query);
}

// The absolute URL a Location header points to, relative to `base`.
std::string ResolveLocation(const Url& base, const std::string& location) {
  if (location.find("://") != std::string::npos) return location;
  const std::string host =
      base.host.find(':') != std::string::npos ? absl::StrCat("[", base.host, "]") : base.host;
  const std::string origin = absl::StrCat(base.scheme, "://", host, ":", base.port);
  if (!location.empty() && location[0] == '/') return origin + RemoveDotSegments(location);
  const std::string dir = base.target.substr(0, base.target.rfind('/') + 1);
  return origin + RemoveDotSegments(dir + location);
}

std::string JoinUrl(const std::string& base, const std::string& name) {
  if (!base.empty() && base.back() == '/') return base + name;
  return absl::StrCat(base, "/", name);
}

// ---- HTTP/1.1 over a socket ---------------------------------------------------------

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

absl::StatusOr<std::unique_ptr<Socket>> Connect(const Url& url, int timeout_seconds) {
  addrinfo hints;
  std::memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  const int rc = getaddrinfo(url.host.c_str(), url.port.c_str(), &hints, &result);
  if (rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve ", url.host, ": ", gai_strerror(rc)));
  }
  std::string last_error = "no addresses";
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    auto socket =
        std::make_unique<Socket>(::socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol));
    if (socket->fd() < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    timeval tv{};
    tv.tv_sec = timeout_seconds;
    setsockopt(socket->fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(socket->fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));  // also bounds connect()
    if (::connect(socket->fd(), ai->ai_addr, ai->ai_addrlen) == 0) {
      freeaddrinfo(result);
      return socket;
    }
    last_error = std::strerror(errno);
  }
  freeaddrinfo(result);
  return absl::UnavailableError(
      absl::StrCat("cannot connect to ", url.host, ":", url.port, ": ", last_error));
}

// Buffered reads from a connected socket.
class Reader {
 public:
  Reader(int fd, std::string url) : fd_(fd), url_(std::move(url)) {}

  // Reads more into the buffer; false at end of stream.
  absl::StatusOr<bool> Fill() {
    if (pos_ > 0 && pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    }
    char chunk[1 << 16];
    while (true) {
      const ssize_t got = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (got > 0) {
        buf_.append(chunk, static_cast<size_t>(got));
        return true;
      }
      if (got == 0) return false;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return absl::UnavailableError(absl::StrCat("GET ", url_, ": timed out receiving"));
      }
      return absl::UnavailableError(absl::StrCat("GET ", url_, ": ", std::strerror(errno)));
    }
  }

  // One line without its CRLF (or LF). Fails at end of stream or past `limit`.
  absl::StatusOr<std::string> ReadLine(size_t limit = kMaxHeaderBytes) {
    while (true) {
      const size_t eol = buf_.find('\n', pos_);
      if (eol != std::string::npos) {
        std::string line = buf_.substr(pos_, eol - pos_);
        pos_ = eol + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
      }
      if (buf_.size() - pos_ > limit) {
        return absl::UnavailableError(absl::StrCat("GET ", url_, ": response line too long"));
      }
      absl::StatusOr<bool> more = Fill();
      if (!more.ok()) return more.status();
      if (!*more) {
        return absl::UnavailableError(
            absl::StrCat("GET ", url_, ": connection closed inside the response header"));
      }
    }
  }

  // Copies `n` bytes (n < 0: until end of stream) to `sink`.
  absl::Status CopyTo(FileSink& sink, int64_t n) {
    int64_t copied = 0;
    while (n < 0 || copied < n) {
      if (pos_ == buf_.size()) {
        absl::StatusOr<bool> more = Fill();
        if (!more.ok()) return more.status();
        if (!*more) {
          if (n < 0) return absl::OkStatus();
          return absl::UnavailableError(absl::StrCat("GET ", url_, ": connection closed after ",
                                                     copied, " of ", n, " bytes"));
        }
      }
      const size_t avail = buf_.size() - pos_;
      const size_t take = n < 0 ? avail : static_cast<size_t>(std::min<int64_t>(avail, n - copied));
      absl::Status status = sink.Write(buf_.data() + pos_, take);
      if (!status.ok()) return status;
      pos_ += take;
      copied += static_cast<int64_t>(take);
    }
    return absl::OkStatus();
  }

 private:
  int fd_;
  std::string url_;
  std::string buf_;
  size_t pos_ = 0;
};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t") + 1 - begin);
}

absl::Status HttpErrorStatus(const std::string& url, int code, const std::string& reason) {
  const std::string message = absl::StrCat("GET ", url, ": HTTP ", code, " ", reason);
  if (code == 404 || code == 410) return absl::NotFoundError(message);
  return absl::UnavailableError(message);
}

absl::StatusOr<std::string> DownloadWithCurl(const std::string& url, const std::string& dest,
                                             int timeout_seconds);

// GETs `url` into `dest` (truncated first); returns the MD5 of the body.
absl::StatusOr<std::string> Download(const std::string& url, const std::string& dest,
                                     int timeout_seconds, int redirects_left) {
  absl::StatusOr<Url> parsed = ParseUrl(url);
  if (!parsed.ok()) return parsed.status();
  if (parsed->scheme == "https") return DownloadWithCurl(url, dest, timeout_seconds);

  absl::StatusOr<std::unique_ptr<Socket>> socket = Connect(*parsed, timeout_seconds);
  if (!socket.ok()) return socket.status();
  const std::string host_header =
      parsed->port == "80" ? parsed->host : absl::StrCat(parsed->host, ":", parsed->port);
  const std::string request =
      absl::StrCat("GET ", parsed->target, " HTTP/1.1\r\nHost: ", host_header,
                   "\r\nUser-Agent: gridrun-data-fetch\r\nAccept: */*\r\n"
                   "Accept-Encoding: identity\r\nConnection: close\r\n\r\n");
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n =
        ::send((*socket)->fd(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("GET ", url, ": send: ", std::strerror(errno)));
    }
    sent += static_cast<size_t>(n);
  }

  Reader reader((*socket)->fd(), url);
  absl::StatusOr<std::string> status_line = reader.ReadLine();
  if (!status_line.ok()) return status_line.status();
  // "HTTP/1.1 200 OK"
  int code = 0;
  std::string reason;
  {
    const size_t sp1 = status_line->find(' ');
    if (status_line->rfind("HTTP/", 0) != 0 || sp1 == std::string::npos) {
      return absl::UnavailableError(
          absl::StrCat("GET ", url, ": not an HTTP response: '", status_line->substr(0, 80), "'"));
    }
    code = std::atoi(status_line->c_str() + sp1 + 1);
    const size_t sp2 = status_line->find(' ', sp1 + 1);
    if (sp2 != std::string::npos) reason = status_line->substr(sp2 + 1);
  }
  std::map<std::string, std::string> headers;
  size_t header_bytes = 0;
  while (true) {
    absl::StatusOr<std::string> line = reader.ReadLine();
    if (!line.ok()) return line.status();
    if (line->empty()) break;
    header_bytes += line->size();
    if (header_bytes > kMaxHeaderBytes) {
      return absl::UnavailableError(absl::StrCat("GET ", url, ": response header too large"));
    }
    const size_t colon = line->find(':');
    if (colon == std::string::npos) continue;
    headers[Lower(Trim(line->substr(0, colon)))] = Trim(line->substr(colon + 1));
  }

  if (code == 301 || code == 302 || code == 303 || code == 307 || code == 308) {
    const auto location = headers.find("location");
    if (location == headers.end()) return HttpErrorStatus(url, code, reason + " (no Location)");
    if (redirects_left <= 0) {
      return absl::UnavailableError(absl::StrCat("GET ", url, ": too many redirects"));
    }
    return Download(ResolveLocation(*parsed, location->second), dest, timeout_seconds,
                    redirects_left - 1);
  }
  if (code != 200) return HttpErrorStatus(url, code, reason);

  absl::StatusOr<std::unique_ptr<FileSink>> sink = FileSink::Create(dest);
  if (!sink.ok()) return sink.status();
  const auto encoding = headers.find("transfer-encoding");
  if (encoding != headers.end() && Lower(encoding->second).find("chunked") != std::string::npos) {
    while (true) {
      absl::StatusOr<std::string> size_line = reader.ReadLine();
      if (!size_line.ok()) return size_line.status();
      char* end = nullptr;
      const long long size = std::strtoll(size_line->c_str(), &end, 16);
      if (end == size_line->c_str() || size < 0) {
        return absl::UnavailableError(
            absl::StrCat("GET ", url, ": bad chunk size '", size_line->substr(0, 40), "'"));
      }
      if (size == 0) {
        while (true) {  // trailer
          absl::StatusOr<std::string> trailer = reader.ReadLine();
          if (!trailer.ok()) return trailer.status();
          if (trailer->empty()) break;
        }
        break;
      }
      absl::Status copied = reader.CopyTo(**sink, size);
      if (!copied.ok()) return copied;
      absl::StatusOr<std::string> crlf = reader.ReadLine();
      if (!crlf.ok()) return crlf.status();
    }
  } else if (const auto length = headers.find("content-length"); length != headers.end()) {
    char* end = nullptr;
    const long long n = std::strtoll(length->second.c_str(), &end, 10);
    if (end == length->second.c_str() || n < 0) {
      return absl::UnavailableError(
          absl::StrCat("GET ", url, ": bad Content-Length '", length->second, "'"));
    }
    absl::Status copied = reader.CopyTo(**sink, n);
    if (!copied.ok()) return copied;
  } else {
    absl::Status copied = reader.CopyTo(**sink, -1);
    if (!copied.ok()) return copied;
  }
  return (*sink)->Finish();
}

// Runs `argv` (argv[0] looked up on PATH) with stdout and stderr captured.
// Returns the exit code (127 when the program cannot be started).
struct ProgramResult {
  int exit_code = 0;
  bool not_found = false;
  std::string output;
};

ProgramResult RunProgram(const std::vector<std::string>& args) {
  ProgramResult result;
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) {
    result.exit_code = 127;
    result.output = absl::StrCat("pipe: ", std::strerror(errno));
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    result.exit_code = 127;
    result.not_found = rc == ENOENT;
    result.output = std::strerror(rc);
    return result;
  }
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(pipe_fds[0], buf, sizeof(buf));
    if (n > 0) {
      if (result.output.size() < (1 << 16)) result.output.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(pipe_fds[0]);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  return result;
}

absl::StatusOr<std::string> DownloadWithCurl(const std::string& url, const std::string& dest,
                                             int timeout_seconds) {
  const std::string timeout = std::to_string(timeout_seconds);
  const ProgramResult run =
      RunProgram({"curl", "-fsSL", "--proto", "=https,http", "--connect-timeout", timeout,
                  "--speed-limit", "1", "--speed-time", timeout, "-w",
                  "\\nGRIDRUN_HTTP_CODE=%{http_code}\\n", "-o", dest, url});
  if (run.not_found) {
    return absl::UnavailableError(absl::StrCat(
        "https:// downloads need the curl program, which is not on PATH; install curl, "
        "download ",
        url, " by hand, or set GRIDRUN_DATA_MIRROR to an http:// mirror"));
  }
  if (run.exit_code != 0) {
    std::error_code ec;
    fs::remove(dest, ec);
    int code = 0;
    const size_t at = run.output.find("GRIDRUN_HTTP_CODE=");
    if (at != std::string::npos) code = std::atoi(run.output.c_str() + at + 18);
    if (code >= 400) return HttpErrorStatus(url, code, "(curl)");
    std::string message = run.output.substr(0, at);
    while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) {
      message.pop_back();
    }
    return absl::UnavailableError(
        absl::StrCat("GET ", url, ": curl exited with ", run.exit_code, ": ", message));
  }
  return Md5FileHex(dest);
}

// ---- Fetching -----------------------------------------------------------------------

// A plain file name: no directory parts, nothing that could leave the directory.
bool IsSafeFileName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos && name.find('\0') == std::string::npos;
}

std::string TempName(const std::string& dir, const std::string& name) {
  static std::atomic<uint64_t> counter{0};
  return (fs::path(dir) / absl::StrCat(".", name, ".part-", ::getpid(), "-", counter.fetch_add(1)))
      .string();
}

std::vector<std::string> BaseUrlsFor(const DatasetSource& source, const FetchOptions& options) {
  if (!options.base_url.empty()) return {options.base_url};
  const char* mirror = std::getenv("GRIDRUN_DATA_MIRROR");
  if (mirror != nullptr && mirror[0] != '\0') {
    return {JoinUrl(mirror, DatasetDirName(source.dataset))};
  }
  return source.base_urls;
}

// Downloads one file into `dir` with checksum verification (see the header).
absl::Status FetchFile(const std::vector<std::string>& base_urls, const RemoteFile& file,
                       const std::string& dir, const FetchOptions& options) {
  if (!IsSafeFileName(file.name)) {
    return absl::InvalidArgumentError(absl::StrCat("refusing unsafe file name '", file.name, "'"));
  }
  const auto override_md5 = options.md5_override.find(file.name);
  const std::string expected =
      Lower(override_md5 != options.md5_override.end() ? override_md5->second : file.md5);
  const std::string dest = (fs::path(dir) / file.name).string();
  std::error_code ec;
  if (!options.force && fs::is_regular_file(dest, ec)) {
    absl::StatusOr<std::string> have = Md5FileHex(dest);
    if (have.ok() && *have == expected) {
      spdlog::info("{}: already present, md5 ok", dest);
      return absl::OkStatus();
    }
  }
  absl::Status last = absl::InvalidArgumentError("no base URL to download from");
  std::string errors;
  for (const std::string& base : base_urls) {
    const std::string url = JoinUrl(base, file.name);
    const std::string tmp = TempName(dir, file.name);
    spdlog::info("fetching {} -> {}", url, dest);
    absl::StatusOr<std::string> md5 = Download(url, tmp, options.timeout_seconds, kMaxRedirects);
    if (md5.ok() && *md5 != expected) {
      md5 = absl::DataLossError(absl::StrCat(url, ": md5 mismatch: got ", *md5, ", expected ",
                                             expected, "; nothing was written"));
    }
    if (md5.ok()) {
      fs::rename(tmp, dest, ec);
      if (ec) {
        fs::remove(tmp, ec);
        return absl::InternalError(
            absl::StrCat("cannot rename ", tmp, " to ", dest, ": ", ec.message()));
      }
      spdlog::info("{}: md5 ok", dest);
      return absl::OkStatus();
    }
    fs::remove(tmp, ec);
    last = md5.status();
    absl::StrAppend(&errors, errors.empty() ? "" : "; ", last.message());
    spdlog::warn("{}", std::string(last.message()));
  }
  if (base_urls.size() <= 1) return last;
  return absl::Status(last.code(), errors);
}

absl::Status ExtractCifarTarball(const std::string& tarball, const std::string& dir) {
  std::string templ = (fs::path(dir) / ".extract-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create a temporary directory in ", dir, ": ", std::strerror(errno)));
  }
  const std::string tmp = templ;
  struct Cleanup {
    std::string path;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } cleanup{tmp};
  const ProgramResult tar =
      RunProgram({"tar", "-xzf", tarball, "-C", tmp, "--no-same-owner", "--no-same-permissions"});
  if (tar.not_found) {
    return absl::UnavailableError("extracting CIFAR-10 needs the tar program, not on PATH");
  }
  if (tar.exit_code != 0) {
    return absl::UnavailableError(
        absl::StrCat("tar -xzf ", tarball, " failed (", tar.exit_code, "): ", tar.output));
  }
  std::vector<std::string> names = CifarTrainBatchNames();
  names.push_back(kCifarTestBatchName);
  names.push_back("batches.meta.txt");
  // Find every file first (regular files only: a symlink member is never
  // followed), so a bad archive moves nothing.
  std::vector<std::pair<std::string, std::string>> moves;  // from, to
  std::string missing;
  std::error_code ec;
  for (const std::string& name : names) {
    std::string found;
    for (const fs::path& candidate :
         {fs::path(tmp) / "cifar-10-batches-bin" / name, fs::path(tmp) / name}) {
      if (fs::symlink_status(candidate, ec).type() == fs::file_type::regular) {
        found = candidate.string();
        break;
      }
    }
    if (found.empty()) {
      absl::StrAppend(&missing, missing.empty() ? "" : ", ", name);
    } else {
      moves.emplace_back(found, (fs::path(dir) / name).string());
    }
  }
  if (!missing.empty()) {
    return absl::DataLossError(
        absl::StrCat(tarball, ": archive lacks regular files ", missing, "; nothing was written"));
  }
  for (const auto& [from, to] : moves) {
    fs::rename(from, to, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("cannot move ", from, " to ", to, ": ", ec.message()));
    }
  }
  return absl::OkStatus();
}

// ---- Checking -----------------------------------------------------------------------

FileCheck CheckIdxFile(const std::string& dir, const std::string& base, IdxKind kind) {
  FileCheck check;
  check.name = base;
  absl::StatusOr<std::string> path = FindDataFile(dir, base, base);
  if (!path.ok()) {
    check.error = "missing";
    return check;
  }
  check.path = *path;
  check.present = true;
  absl::StatusOr<DataFile> file = DataFile::Open(*path);
  if (!file.ok()) {
    check.error = std::string(file.status().message());
    return check;
  }
  absl::StatusOr<IdxHeader> header = ReadIdxHeader(*file, kind);
  if (!header.ok()) {
    check.error = std::string(header.status().message());
    return check;
  }
  if (kind == IdxKind::kImages && (header->rows != 28 || header->cols != 28)) {
    check.error = absl::StrCat(*path, ": header says images of ", header->rows, "x", header->cols,
                               ", expected 28x28");
    return check;
  }
  absl::StatusOr<int64_t> size = UncompressedSizeHint(*path);
  if (!size.ok()) {
    check.error = std::string(size.status().message());
    return check;
  }
  if (*size != header->TotalBytes()) {
    check.error =
        absl::StrCat(*path, *size < header->TotalBytes() ? ": truncated" : ": size mismatch",
                     ": header says ", header->Describe(), " but file has ", *size, " bytes");
    return check;
  }
  check.valid = true;
  check.count = header->count;
  return check;
}

FileCheck CheckCifarFile(const std::string& dir, const std::string& base) {
  FileCheck check;
  check.name = base;
  absl::StatusOr<std::string> path = FindDataFile(dir, base, base);
  if (!path.ok()) {
    check.error = "missing";
    return check;
  }
  check.path = *path;
  check.present = true;
  absl::StatusOr<int64_t> size = UncompressedSizeHint(*path);
  if (!size.ok()) {
    check.error = std::string(size.status().message());
    return check;
  }
  if (*size == 0 || *size % kCifarRecordBytes != 0) {
    check.error = absl::StrCat(*path, ": size ", *size,
                               " bytes is not a positive multiple of the 3073-byte record");
    return check;
  }
  check.valid = true;
  check.count = *size / kCifarRecordBytes;
  return check;
}

DatasetCheck CheckIdxDataset(const std::string& name, const std::string& dir) {
  DatasetCheck ds;
  ds.name = name;
  ds.dir = dir;
  bool all_valid = true;
  for (const std::string prefix : {"train", "t10k"}) {
    FileCheck images = CheckIdxFile(dir, prefix + "-images-idx3-ubyte", IdxKind::kImages);
    FileCheck labels = CheckIdxFile(dir, prefix + "-labels-idx1-ubyte", IdxKind::kLabels);
    all_valid = all_valid && images.valid && labels.valid;
    if (images.valid && labels.valid) {
      if (images.count != labels.count) {
        all_valid = false;
        absl::StrAppend(&ds.error, ds.error.empty() ? "" : "; ", images.path, " has ", images.count,
                        " images but ", labels.path, " has ", labels.count, " labels");
      } else {
        (prefix == "train" ? ds.train_count : ds.test_count) = images.count;
      }
    }
    ds.files.push_back(std::move(images));
    ds.files.push_back(std::move(labels));
  }
  ds.usable = all_valid;
  ds.complete = all_valid;
  return ds;
}

DatasetCheck CheckCifarDataset(const std::string& dir) {
  DatasetCheck ds;
  ds.name = "cifar10";
  ds.dir = dir;
  bool all_valid = true;
  bool broken_train = false;
  for (const std::string& base : CifarTrainBatchNames()) {
    FileCheck batch = CheckCifarFile(dir, base);
    all_valid = all_valid && batch.valid;
    broken_train = broken_train || (batch.present && !batch.valid);
    if (batch.valid) ds.train_count += batch.count;
    ds.files.push_back(std::move(batch));
  }
  FileCheck test = CheckCifarFile(dir, kCifarTestBatchName);
  all_valid = all_valid && test.valid;
  if (test.valid) ds.test_count = test.count;
  ds.usable = test.valid && ds.train_count > 0 && !broken_train;
  ds.complete = all_valid;
  ds.files.push_back(std::move(test));
  return ds;
}

}  // namespace

const std::vector<DatasetSource>& OfficialSources() {
  static const std::vector<DatasetSource> kSources = {
      {"mnist",
       {"https://ossci-datasets.s3.amazonaws.com/mnist", "http://yann.lecun.com/exdb/mnist"},
       {{"train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"},
        {"train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"},
        {"t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"},
        {"t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"}},
       false},
      {"fashion-mnist",
       {"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com"},
       {{"train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"},
        {"train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"},
        {"t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"},
        {"t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"}},
       false},
      {"cifar10",
       {"https://www.cs.toronto.edu/~kriz"},
       {{kCifarTarball, "c32a1d4ab5d03f1284b67883e8d87530"}},
       true},
  };
  return kSources;
}

std::string Md5Hex(std::string_view bytes) {
  Md5 md5;
  md5.Update(bytes.data(), bytes.size());
  return md5.FinishHex();
}

absl::StatusOr<std::string> Md5FileHex(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  Md5 md5;
  std::vector<char> buf(1 << 16);
  while (true) {
    const size_t n = std::fread(buf.data(), 1, buf.size(), f);
    if (n > 0) md5.Update(buf.data(), n);
    if (n < buf.size()) break;
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return absl::InternalError(absl::StrCat("error reading ", path));
  return md5.FinishHex();
}

absl::Status FetchDataset(const std::string& name, const std::string& data_dir,
                          const FetchOptions& options) {
  const auto& sources = OfficialSources();
  const auto source = std::find_if(sources.begin(), sources.end(),
                                   [&](const DatasetSource& s) { return s.dataset == name; });
  if (source == sources.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown dataset '", name, "'; allowed: ", DatasetNames()));
  }
  if (options.timeout_seconds < 1) {
    return absl::InvalidArgumentError("timeout_seconds must be >= 1");
  }
  const std::string dir = (fs::path(data_dir) / DatasetDirName(name)).string();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  const std::vector<std::string> base_urls = BaseUrlsFor(*source, options);

  if (!source->is_tarball) {
    for (const RemoteFile& file : source->files) {
      absl::Status status = FetchFile(base_urls, file, dir, options);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

  if (!options.force) {
    const DatasetCheck check = CheckCifarDataset(dir);
    if (check.complete) {
      spdlog::info("{}: all CIFAR-10 batches already present", dir);
      return absl::OkStatus();
    }
  }
  const RemoteFile& tarball = source->files.front();
  absl::Status status = FetchFile(base_urls, tarball, dir, options);
  if (!status.ok()) return status;
  const std::string tarball_path = (fs::path(dir) / tarball.name).string();
  status = ExtractCifarTarball(tarball_path, dir);
  if (!status.ok()) return status;
  fs::remove(tarball_path, ec);
  return absl::OkStatus();
}

DataCheckReport CheckData(const std::string& data_dir) {
  DataCheckReport report;
  report.data_dir = data_dir;
  for (const DatasetInfo& info : DatasetCatalog()) {
    const std::string name(info.name);
    const std::string dir = (fs::path(data_dir) / DatasetDirName(name)).string();
    report.datasets.push_back(IsIdxDataset(name) ? CheckIdxDataset(name, dir)
                                                 : CheckCifarDataset(dir));
  }
  return report;
}

std::string FormatDataCheckReport(const DataCheckReport& report) {
  std::string out = absl::StrCat("data dir: ", report.data_dir, "\n");
  for (const DatasetCheck& ds : report.datasets) {
    const char* state = ds.complete ? "complete" : ds.usable ? "usable (incomplete)" : "not usable";
    absl::StrAppend(&out, ds.name, ": ", state, ", train ", ds.train_count, ", test ",
                    ds.test_count, "  [", ds.dir, "]\n");
    for (const FileCheck& f : ds.files) {
      if (f.valid) {
        absl::StrAppend(&out, "  ok       ", fs::path(f.path).filename().string(), "  (", f.count,
                        ")\n");
      } else if (!f.present) {
        absl::StrAppend(&out, "  missing  ", f.name, "[.gz]\n");
      } else {
        absl::StrAppend(&out, "  invalid  ", f.error, "\n");
      }
    }
    if (!ds.error.empty()) absl::StrAppend(&out, "  error    ", ds.error, "\n");
    if (!ds.usable) {
      absl::StrAppend(&out, "  fix: gridrun data fetch ", ds.name, "\n");
    }
  }
  return out;
}

}  // namespace gridrun::models
