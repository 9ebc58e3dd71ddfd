// A one-thread HTTP/1.1 server on 127.0.0.1 serving fixed responses by path,
// for the data fetch tests (tests/datafetch, tests/integration). Header-only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace gridrun::testing {

class TestHttpServer {
 public:
  struct Response {
    int status = 200;
    std::string body;
    std::vector<std::string> headers;  // extra "Name: value" lines
    bool chunked = false;
  };

  TestHttpServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listen_fd_, 16) != 0) {
      throw std::runtime_error("test server: bind/listen failed");
    }
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TestHttpServer() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void Set(const std::string& path, Response response) {
    std::lock_guard<std::mutex> lock(mu_);
    routes_[path] = std::move(response);
  }
  std::vector<std::string> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd pfd{listen_fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 50) <= 0) continue;
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      Handle(fd);
      ::close(fd);
    }
  }

  void Handle(int fd) {
    std::string request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) return;
      request.append(buf, static_cast<size_t>(n));
    }
    const size_t sp1 = request.find(' ');
    const size_t sp2 = request.find(' ', sp1 + 1);
    const std::string target = request.substr(sp1 + 1, sp2 - sp1 - 1);
    Response response;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(target);
      const auto it = routes_.find(target);
      if (it == routes_.end()) {
        response.status = 404;
        response.body = "no such file";
      } else {
        response = it->second;
      }
    }
    const char* reason = response.status == 200   ? "OK"
                         : response.status == 404 ? "Not Found"
                         : response.status == 302 ? "Found"
                                                  : "Error";
    std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " + reason + "\r\n";
    for (const std::string& h : response.headers) out += h + "\r\n";
    out += "Connection: close\r\n";
    if (response.chunked) {
      out += "Transfer-Encoding: chunked\r\n\r\n";
      for (size_t at = 0; at < response.body.size(); at += 1000) {
        const std::string piece = response.body.substr(at, 1000);
        char size[32];
        std::snprintf(size, sizeof(size), "%zx;ext=1\r\n", piece.size());
        out += size + piece + "\r\n";
      }
      out += "0\r\nX-Trailer: 1\r\n\r\n";
    } else {
      out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n\r\n" + response.body;
    }
    for (size_t sent = 0; sent < out.size();) {
      const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::map<std::string, Response> routes_;
  std::vector<std::string> requests_;
};

}  // namespace gridrun::testing
