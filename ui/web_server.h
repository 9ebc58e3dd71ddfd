// WebServer: `gridrun ui`'s HTTP server (cpp-httplib): the web app's page
// and assets, GET /login, and the JSON API (ui/api_router.h) over a
// read-only ReaderPool of the database, behind the access rules of
// ui/access_control.h.
//
// Protocol of one request:
//   1. the rate limiter takes one request from the client address's bucket
//      (429 past it);
//   2. without a token: a Host header that is not a loopback name is
//      refused (403); with a token: GET /login?code=C (the one-time code of
//      login_url(), good for one use) or GET /login?token=T sets the token
//      cookie and redirects to /; any other request without the token gets
//      401;
//   3. "/" is the page, "/assets/NAME" an embedded file, "/api/..." the API;
//      anything else 404. Only GET (and HEAD) are routed; request bodies
//      larger than 4 KiB are refused.
// Every response says no-store for the API, and carries a Content Security
// Policy that allows only the server's own scripts, styles, images and API.
//
// Resources: `threads` connections are served at once (one request per
// connection: an idle viewer holds no thread), `readers` database reads run
// at once.
// A client that disconnects mid-response costs its thread that response only
// (Start ignores SIGPIPE for the whole process: Debian's httplib sends
// without MSG_NOSIGNAL).
//
// Thread-safety: Start/Stop/Wait from one owning thread; requests are served
// on the server's own threads.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}

namespace gridrun::ui {

class ApiRouter;
class ReaderPool;
class RateLimiter;
class TokenGate;

struct WebServerOptions {
  std::string db_path;
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 picks a free one
  std::string token_file;                 // required unless HOST is a loopback address
  int threads = 64;
  int readers = 4;
  double requests_per_second = 200;  // per client address (viewers behind one
  double burst = 1000;               // proxy share it: ~1 request/s each)
};

class WebServer {
 public:
  // Opens the database read-only, binds and starts serving on a background
  // thread. INVALID_ARGUMENT for a bad --listen, a non-loopback address
  // without a token file, or a bad token file; UNAVAILABLE when the address
  // cannot be bound; errors of ResultsReader::Open for the database.
  static absl::StatusOr<std::unique_ptr<WebServer>> Start(const WebServerOptions& options);
  ~WebServer();  // Stop()

  int port() const { return port_; }
  // "http://HOST:PORT/" ; with a token, the one-time login URL carrying it.
  std::string url() const;
  std::string login_url() const;

  void Stop();
  // Blocks until Stop() (from another thread or a signal handler's thread).
  void Wait();

 private:
  WebServer();
  void Install();

  std::string host_;
  int port_ = 0;
  std::string token_;
  std::string login_code_;  // random hex; "" once used (guarded by login_mutex_)
  mutable std::mutex login_mutex_;
  std::unique_ptr<ReaderPool> pool_;
  std::unique_ptr<ApiRouter> router_;
  std::unique_ptr<TokenGate> gate_;
  std::unique_ptr<RateLimiter> limiter_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

// Splits "HOST:PORT" / "[V6]:PORT". INVALID_ARGUMENT naming the text when
// there is no port or it is not 0..65535.
absl::StatusOr<std::pair<std::string, int>> ParseListenAddress(const std::string& listen);

}  // namespace gridrun::ui
