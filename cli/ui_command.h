// `gridrun ui --db FILE [--listen 127.0.0.1:8080] [--token-file F]`: serves
// the live dashboard (ui/web_server.h) of a database until SIGINT/SIGTERM.
// The database is opened read-only, so it runs beside a coordinator that is
// writing to it.
//
//   $ gridrun ui --db runs.db
//   gridrun ui: serving runs.db at http://127.0.0.1:8080/ (Ctrl-C stops)
//
// A --listen address other than loopback needs --token-file; the printed URL
// is then the one-time login URL that sets the token cookie.
// Exit codes: 0 stopped by a signal; 1 the database cannot be opened, the
// address is refused or cannot be bound, or the token file is bad.
//
// Thread-safety: RunUi blocks SIGINT and SIGTERM in the calling thread (and
// the server threads it starts) and waits for one of them.
#pragma once

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

namespace gridrun::cli {

struct UiCommandOptions {
  std::string db_path;
  std::string listen = "127.0.0.1:8080";
  std::string token_file;
};

int RunUi(const UiCommandOptions& options, std::ostream& out, std::ostream& err);

// Adds the `ui` subcommand; `out`/`err` must outlive `app`.
void AddUiCommand(CLI::App& app, std::ostream& out = std::cout, std::ostream& err = std::cerr);

}  // namespace gridrun::cli
