// The `gridrun data` tools and `gridrun models`, all in this process; see
// cli/tools_command.h.
#include "cli/tools_command.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/subprocess.h"
#include "cli/models_command.h"
#include "datafetch/data_check.h"
#include "datafetch/data_fetch.h"
#include "models/idx_reader.h"

namespace gridrun::cli {
namespace {

void AddDataCommand(CLI::App& app, std::ostream& out, std::ostream& err) {
  struct DataOptions {
    std::string dataset;
    std::string data_dir = models::DefaultDataDir();
    std::string mirror;
  };
  auto options = std::make_shared<DataOptions>();
  CLI::App* data = app.add_subcommand(
      "data", "check the data sets (data check) or download one (data fetch DATASET)");
  data->require_subcommand(1);
  CLI::App* check = data->add_subcommand("check", "say which data files are present and valid");
  check->add_option("--data-dir", options->data_dir, "the data directory")->capture_default_str();
  check->callback([options, &out] {
    if (const int code = RunDataCheck(options->data_dir, out); code != 0) {
      throw CLI::RuntimeError(code);
    }
  });
  CLI::App* fetch = data->add_subcommand("fetch", "download a data set, verifying checksums");
  fetch->add_option("dataset", options->dataset, "mnist, fashion-mnist or cifar10")->required();
  fetch->add_option("--data-dir", options->data_dir, "the data directory")->capture_default_str();
  fetch->add_option("--mirror", options->mirror,
                    "base URL to download from instead of the official one")
      ->envname("GRIDRUN_DATA_MIRROR");
  fetch->callback([options, &out, &err] {
    const int code =
        RunDataFetch(options->dataset, options->data_dir, options->mirror, out, err);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace

int RunDataCheck(const std::string& data_dir, std::ostream& out) {
  const datafetch::DataCheckReport report = datafetch::CheckData(data_dir);
  out << datafetch::FormatDataCheckReport(report);
  for (const auto& dataset : report.datasets) {
    if (dataset.usable) return 0;
  }
  return 1;
}

int RunDataFetch(const std::string& dataset, const std::string& data_dir,
                 const std::string& mirror, std::ostream& out, std::ostream& err) {
  datafetch::FetchOptions options;
  options.base_url = mirror;
  const absl::Status status = datafetch::FetchDataset(dataset, data_dir, options);
  if (!status.ok()) {
    err << "gridrun data fetch: " << status.message() << "\n";
    return 1;
  }
  out << "fetched " << dataset << " into " << data_dir << "\n";
  return 0;
}

void AddToolCommands(CLI::App& app, std::ostream& out, std::ostream& err) {
  AddModelsCommand(app, out, err);
  AddDataCommand(app, out, err);
}

}  // namespace gridrun::cli
