#include "cli/ui_command.h"

#include <signal.h>

#include <memory>

#include "ui/web_server.h"

namespace gridrun::cli {

int RunUi(const UiCommandOptions& options, std::ostream& out, std::ostream& err) {
  // Block the stop signals before the server's threads exist, so they
  // inherit the mask and only sigwait below sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  ui::WebServerOptions server_options;
  server_options.db_path = options.db_path;
  server_options.listen = options.listen;
  server_options.token_file = options.token_file;
  auto server = ui::WebServer::Start(server_options);
  if (!server.ok()) {
    err << "gridrun ui: " << server.status().message() << "\n";
    return 1;
  }
  out << "gridrun ui: serving " << options.db_path << " at " << (*server)->login_url()
      << " (Ctrl-C stops)" << std::endl;
  int signal_number = 0;
  sigwait(&stop, &signal_number);
  (*server)->Stop();
  out << "gridrun ui: stopped" << std::endl;
  return 0;
}

void AddUiCommand(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto options = std::make_shared<UiCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "ui", "serve the live dashboard of a database (experiments, trials, curves, samples)");
  cmd->add_option("--db", options->db_path, "the database file (read-only)")->required();
  cmd->add_option("--listen", options->listen,
                  "HOST:PORT to listen on (default 127.0.0.1:8080; other than loopback needs "
                  "--token-file)");
  cmd->add_option("--token-file", options->token_file,
                  "file whose first line is the token viewers must present");
  cmd->callback([options, &out, &err] {
    const int code = RunUi(*options, out, err);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace gridrun::cli
