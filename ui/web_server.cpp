// WebServer: cpp-httplib wiring of the page, assets, login and API routes
// behind the access rules.
#include "ui/web_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <csignal>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "ui/access_control.h"
#include "ui/api_router.h"
#include "ui/app_page.h"
#include "ui/embedded_assets.h"
#include "ui/reader_pool.h"

namespace gridrun::ui {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr char kContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

// 32 hex digits from the system's random source.
std::string RandomCode() {
  std::random_device random;
  std::string code;
  for (int i = 0; i < 4; ++i) absl::StrAppend(&code, absl::Hex(random(), absl::kZeroPad8));
  return code;
}

void Plain(httplib::Response& res, int status, const std::string& text) {
  res.status = status;
  res.set_content(text + "\n", "text/plain; charset=utf-8");
}

}  // namespace

absl::StatusOr<std::pair<std::string, int>> ParseListenAddress(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen '", listen, "' is not HOST:PORT (e.g. 127.0.0.1:8080)"));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  if (!absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen '", listen, "': the port must be 0..65535"));
  }
  return std::make_pair(host, port);
}

WebServer::WebServer() = default;

WebServer::~WebServer() { Stop(); }

absl::StatusOr<std::unique_ptr<WebServer>> WebServer::Start(const WebServerOptions& options) {
  ASSIGN_OR_RETURN(auto address, ParseListenAddress(options.listen));
  // Debian's httplib writes with send(..., 0): a viewer that disconnects
  // mid-response would raise SIGPIPE and end the process.
  std::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<WebServer> server(new WebServer());
  server->host_ = address.first;
  if (!options.token_file.empty()) {
    ASSIGN_OR_RETURN(server->token_, ReadTokenFile(options.token_file));
    server->login_code_ = RandomCode();
  } else if (!IsLoopbackHost(server->host_)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen ", options.listen,
        " is not a loopback address: give --token-file so that only token holders can read"));
  }
  ASSIGN_OR_RETURN(server->pool_, ReaderPool::Open(options.db_path, options.readers));
  server->router_ = std::make_unique<ApiRouter>(server->pool_.get(), NowMs);
  server->gate_ = std::make_unique<TokenGate>(server->token_);
  server->limiter_ = std::make_unique<RateLimiter>(options.requests_per_second, options.burst);
  server->server_ = std::make_unique<httplib::Server>();
  const int threads = std::max(options.threads, 2);
  server->server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server->Install();
  // Debian's compiled httplib listens with a backlog of 5: a burst of
  // viewers connecting at once would see dropped SYNs and retry after 1-3 s.
  // Remember the listening socket (the options hook sees it before bind)
  // and widen its backlog once bound (listen() again does that on Linux).
  auto listening = std::make_shared<int>(-1);
  server->server_->set_socket_options([listening](int fd) {
    httplib::default_socket_options(fd);
    *listening = fd;
  });
  if (address.second == 0) {
    server->port_ = server->server_->bind_to_any_port(server->host_);
  } else if (server->server_->bind_to_port(server->host_, address.second)) {
    server->port_ = address.second;
  } else {
    server->port_ = -1;
  }
  if (server->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  if (*listening >= 0) ::listen(*listening, 1024);
  httplib::Server* raw = server->server_.get();
  server->thread_ = std::thread([raw] { raw->listen_after_bind(); });
  return server;
}

void WebServer::Install() {
  httplib::Server& http = *server_;
  http.set_payload_max_length(4096);
  // One request per connection: a thread is never held by an idle viewer's
  // keep-alive connection, so 200 viewers share `threads` threads fairly.
  http.set_keep_alive_max_count(1);
  http.set_read_timeout(10, 0);
  http.set_write_timeout(10, 0);
  http.set_default_headers({{"Content-Security-Policy", kContentSecurityPolicy},
                            {"X-Content-Type-Options", "nosniff"},
                            {"X-Frame-Options", "DENY"},
                            {"Referrer-Policy", "no-referrer"}});

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!limiter_->Allow(req.remote_addr, NowMs())) {
      res.set_header("Retry-After", "1");
      Plain(res, 429, "too many requests");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!gate_->required()) {
      if (!IsLoopbackHost(HostOfHostHeader(req.get_header_value("Host")))) {
        Plain(res, 403, "this server answers requests for a loopback host name only");
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    }
    if (req.path == "/login") return httplib::Server::HandlerResponse::Unhandled;
    if (!gate_->Allows(req.get_header_value("Authorization"), req.get_header_value("Cookie"))) {
      res.set_header("WWW-Authenticate", "Bearer");
      Plain(res, 401, "a token is needed: open the login URL that `gridrun ui` printed");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  http.Get("/login", [this](const httplib::Request& req, httplib::Response& res) {
    if (!gate_->required()) {
      res.set_redirect("/", 303);
      return;
    }
    bool allowed = gate_->Matches(req.get_param_value("token"));
    if (!allowed && req.has_param("code")) {
      std::lock_guard<std::mutex> lock(login_mutex_);
      const TokenGate code(login_code_);  // an empty (used) code matches nothing
      allowed = code.Matches(req.get_param_value("code"));
      if (allowed) login_code_.clear();
    }
    if (!allowed) {
      res.set_header("WWW-Authenticate", "Bearer");
      Plain(res, 401, "wrong, used or missing login code or token");
      return;
    }
    res.set_header("Set-Cookie", gate_->CookieHeader());
    res.set_redirect("/", 303);
  });

  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-cache");
    res.set_content(ServedAppPage(), "text/html; charset=utf-8");
  });

  http.Get(R"(/assets/([A-Za-z0-9_.-]+))", [](const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    const std::string_view content = FindAsset(name);
    if (content.empty()) return Plain(res, 404, "no asset " + name);
    res.set_header("Cache-Control", "no-cache");
    res.set_content(std::string(content), std::string(ContentTypeOf(name)));
  });

  http.Get(R"(/api/.*)", [this](const httplib::Request& req, httplib::Response& res) {
    ApiRequest request;
    request.path = req.path;
    for (const auto& [key, value] : req.params) request.params.emplace(key, value);
    ApiResponse response = router_->Handle(request);
    res.status = response.status;
    res.set_header("Cache-Control", "no-store");
    res.set_content(std::move(response.body), response.content_type);
  });

  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) Plain(res, res.status, res.status == 404 ? "not found" : "refused");
  });
}

std::string WebServer::url() const {
  const std::string host = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
  return absl::StrCat("http://", host, ":", port_, "/");
}

std::string WebServer::login_url() const {
  std::lock_guard<std::mutex> lock(login_mutex_);
  return token_.empty() || login_code_.empty() ? url()
                                               : absl::StrCat(url(), "login?code=", login_code_);
}

void WebServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

void WebServer::Wait() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace gridrun::ui
