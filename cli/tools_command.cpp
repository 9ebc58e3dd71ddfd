#include "cli/tools_command.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

namespace gridrun::cli {
namespace {

void ExecWorkerTool(const std::string& tool, const std::vector<std::string>& args) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string worker = ec ? "gridrun-worker" : (self.parent_path() / "gridrun-worker").string();
  std::vector<std::string> argv = {worker, tool};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (auto& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  ::execv(raw[0], raw.data());
  std::cerr << "gridrun " << tool << ": cannot run " << worker << ": " << std::strerror(errno)
            << "\n";
  throw CLI::RuntimeError(1);
}

}  // namespace

void AddToolCommands(CLI::App& app) {
  for (const auto& [tool, help] :
       {std::pair<std::string, std::string>{"models",
                                            "list model families and seed presets, or print one's "
                                            "layer table (gridrun models NAME)"},
        {"data", "check the data sets (data check) or download one (data fetch DATASET)"}}) {
    CLI::App* cmd = app.add_subcommand(tool, help);
    cmd->prefix_command();  // everything after the tool name goes to it
    cmd->set_help_flag();   // ... including --help
    cmd->callback([cmd, tool = tool] { ExecWorkerTool(tool, cmd->remaining()); });
  }
}

}  // namespace gridrun::cli
