// gridrun: the user's command line. Each subcommand lives in its own
// cli/<name>_command.{h,cpp} and registers itself with Add<Name>Command(app).
//
// Exit codes: 0 success; 1 the command failed (bad spec, unreadable file, ...;
// commands report it by throwing CLI::RuntimeError(1)); 2 usage errors (unknown
// subcommand or option, missing argument).
#include <CLI/CLI.hpp>

#include "cli/best_command.h"
#include "cli/cancel_command.h"
#include "cli/export_command.h"
#include "cli/local_command.h"
#include "cli/query_command.h"
#include "cli/report_command.h"
#include "cli/sample_command.h"
#include "cli/status_command.h"
#include "cli/submit_command.h"
#include "cli/tools_command.h"
#include "cli/ui_command.h"
#include "cli/validate_command.h"
#include "cli/watch_command.h"

int main(int argc, char** argv) {
  CLI::App app{"gridrun: hyperparameter grids of generative image models"};
  app.require_subcommand(1);
  gridrun::cli::AddValidateCommand(app);
  gridrun::cli::AddSubmitCommand(app);
  gridrun::cli::AddStatusCommand(app);
  gridrun::cli::AddWatchCommand(app);
  gridrun::cli::AddCancelCommand(app);
  gridrun::cli::AddQueryCommand(app);
  gridrun::cli::AddBestCommand(app);
  gridrun::cli::AddExportCommand(app);
  gridrun::cli::AddSampleCommand(app);
  gridrun::cli::AddReportCommand(app);
  gridrun::cli::AddLocalCommand(app);
  gridrun::cli::AddUiCommand(app);
  gridrun::cli::AddToolCommands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, or the usage error
    if (code == 0 || e.get_name() == "RuntimeError") return code;
    return 2;
  }
  return 0;
}
