// Downloads the official data set files through libcurl, verifying their
// checksums before they land; see datafetch/data_fetch.h.
#include "datafetch/data_fetch.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/model_catalog.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "common/subprocess.h"
#include "datafetch/data_check.h"
#include "models/cifar_reader.h"
#include "models/idx_reader.h"
#include "spdlog/spdlog.h"

namespace gridrun::datafetch {
namespace {

namespace fs = std::filesystem;
using models::CifarTrainBatchNames;
using models::DatasetDirName;
using models::kCifarTestBatchName;

constexpr long kMaxRedirects = 5;
constexpr const char* kCifarTarball = "cifar-10-binary.tar.gz";

std::string Lower(std::string s) { return absl::AsciiStrToLower(s); }

// ---- URLs ----------------------------------------------------------------------------

// INVALID_ARGUMENT unless `url` is a well-formed http:// or https:// URL
// (parsed by libcurl's URL API).
absl::Status CheckUrl(const std::string& url) {
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= ' ') {
      return absl::InvalidArgumentError(
          absl::StrCat("bad URL '", url, "': contains whitespace or control characters"));
    }
  }
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> handle(curl_url(), curl_url_cleanup);
  if (handle == nullptr) return absl::InternalError("libcurl: out of memory");
  if (const CURLUcode rc = curl_url_set(handle.get(), CURLUPART_URL, url.c_str(), 0);
      rc != CURLUE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad URL '", url, "': ", curl_url_strerror(rc)));
  }
  char* scheme = nullptr;
  std::string scheme_text;
  if (curl_url_get(handle.get(), CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK) {
    scheme_text = Lower(scheme);
    curl_free(scheme);
  }
  if (scheme_text != "http" && scheme_text != "https") {
    return absl::InvalidArgumentError(
        absl::StrCat("bad URL '", url, "': scheme must be http or https"));
  }
  return absl::OkStatus();
}

std::string JoinUrl(const std::string& base, const std::string& name) {
  if (!base.empty() && base.back() == '/') return base + name;
  return absl::StrCat(base, "/", name);
}

absl::Status HttpErrorStatus(const std::string& url, long code, const std::string& reason) {
  const std::string message =
      absl::StrCat("GET ", url, ": HTTP ", code, reason.empty() ? "" : " ", reason);
  if (code == 404 || code == 410) return absl::NotFoundError(message);
  return absl::UnavailableError(message);
}

// ---- One transfer ----------------------------------------------------------------------

void InitCurlOnce() {
  static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)init;
}

// What the libcurl callbacks of one transfer share.
struct Transfer {
  CURL* curl = nullptr;
  std::FILE* file = nullptr;
  Md5Builder md5;
  int64_t bytes = 0;
  int64_t max_bytes = 0;
  bool too_large = false;
  int write_errno = 0;
  std::string reason;  // reason phrase of the last response's status line
};

// Header lines of every response, redirects included: keeps the reason phrase
// of the last status line ("HTTP/1.1 404 Not Found").
size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const absl::string_view line(data, size * count);
  if (absl::StartsWith(line, "HTTP/")) {
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == absl::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    transfer->reason = sp2 == absl::string_view::npos
                           ? std::string()
                           : std::string(absl::StripAsciiWhitespace(line.substr(sp2 + 1)));
  }
  return size * count;
}

// Body bytes: written to the file (with a running MD5) only for a 2xx
// response; a longer body than max_bytes stops the transfer.
size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = size * count;
  long code = 0;
  curl_easy_getinfo(transfer->curl, CURLINFO_RESPONSE_CODE, &code);
  if (code < 200 || code >= 300) return n;  // an error page: not data
  if (transfer->bytes + static_cast<int64_t>(n) > transfer->max_bytes) {
    transfer->too_large = true;
    return 0;  // CURLE_WRITE_ERROR
  }
  if (std::fwrite(data, 1, n, transfer->file) != n) {
    transfer->write_errno = errno;
    return 0;
  }
  transfer->md5.Update(std::string_view(data, n));
  transfer->bytes += static_cast<int64_t>(n);
  return n;
}

// GETs `url` into `dest` (created or truncated); returns the MD5 of the body.
absl::StatusOr<std::string> Download(const std::string& url, const std::string& dest,
                                     const FetchOptions& options) {
  RETURN_IF_ERROR(CheckUrl(url));
  InitCurlOnce();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (curl == nullptr) return absl::InternalError("libcurl: cannot create a transfer");
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, Closer> file(std::fopen(dest.c_str(), "wb"));
  if (file == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create ", dest, ": ", std::strerror(errno)));
  }
  Transfer transfer;
  transfer.curl = curl.get();
  transfer.file = file.get();
  transfer.max_bytes = options.max_bytes;
  char error[CURL_ERROR_SIZE] = "";
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, kMaxRedirects);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(options.timeout_seconds));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);  // bytes/s: less is a stall
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.timeout_seconds));
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_bytes));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "gridrun-data-fetch");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  const CURLcode rc = curl_easy_perform(c);

  long code = 0;
  long redirects = 0;
  char* effective = nullptr;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_getinfo(c, CURLINFO_REDIRECT_COUNT, &redirects);
  curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective);
  // Errors name the URL that answered (the last one of a redirect chain).
  const std::string where = redirects > 0 && effective != nullptr ? effective : url;
  if (transfer.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    return absl::ResourceExhaustedError(absl::StrCat("GET ", where, ": larger than the limit of ",
                                                     options.max_bytes, " bytes"));
  }
  if (transfer.write_errno != 0) {
    return absl::InternalError(
        absl::StrCat("cannot write ", dest, ": ", std::strerror(transfer.write_errno)));
  }
  if (rc == CURLE_TOO_MANY_REDIRECTS) {
    return absl::UnavailableError(absl::StrCat("GET ", url, ": too many redirects (more than ",
                                               kMaxRedirects, ")"));
  }
  if (rc != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat("GET ", where, ": ",
                                               error[0] != '\0' ? error : curl_easy_strerror(rc)));
  }
  if (code >= 300 && code < 400) {
    return HttpErrorStatus(where, code, transfer.reason + " (no Location)");
  }
  if (code != 200) return HttpErrorStatus(where, code, transfer.reason);
  if (std::fclose(file.release()) != 0) {
    return absl::InternalError(absl::StrCat("cannot write ", dest, ": ", std::strerror(errno)));
  }
  return transfer.md5.FinishHex();
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
    absl::StatusOr<std::string> md5 = Download(url, tmp, options);
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
  absl::StatusOr<ProcessResult> tar = RunProcess(
      {"tar", "-xzf", tarball, "-C", tmp, "--no-same-owner", "--no-same-permissions"});
  if (absl::IsNotFound(tar.status())) {
    return absl::UnavailableError("extracting CIFAR-10 needs the tar program, not on PATH");
  }
  if (!tar.ok()) return absl::UnavailableError(tar.status().message());
  if (tar->exit_code != 0) {
    return absl::UnavailableError(absl::StrCat("tar -xzf ", tarball, " failed (", tar->exit_code,
                                               "): ", tar->err, tar->out));
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

absl::StatusOr<std::string> Md5FileHex(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  Md5Builder md5;
  std::vector<char> buf(1 << 16);
  while (true) {
    const size_t n = std::fread(buf.data(), 1, buf.size(), f);
    if (n > 0) md5.Update(std::string_view(buf.data(), n));
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
  if (options.max_bytes < 1) return absl::InvalidArgumentError("max_bytes must be >= 1");
  const std::string dir = (fs::path(data_dir) / DatasetDirName(name)).string();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  const std::vector<std::string> base_urls = BaseUrlsFor(*source, options);

  if (!source->is_tarball) {
    for (const RemoteFile& file : source->files) {
      RETURN_IF_ERROR(FetchFile(base_urls, file, dir, options));
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
  RETURN_IF_ERROR(FetchFile(base_urls, tarball, dir, options));
  const std::string tarball_path = (fs::path(dir) / tarball.name).string();
  RETURN_IF_ERROR(ExtractCifarTarball(tarball_path, dir));
  fs::remove(tarball_path, ec);
  return absl::OkStatus();
}

}  // namespace gridrun::datafetch
