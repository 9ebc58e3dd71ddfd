#include "cli/export_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <system_error>

#include "cli/report_options.h"
#include "cli/status_command.h"
#include "cli/table_format.h"
#include "coordinator/results_reader.h"

namespace gridrun::cli {
namespace {

namespace fs = std::filesystem;

// Writes `bytes` to `path`; false (and a message on `err`) on failure.
// Never through a symbolic link: one planted in the target directory would
// otherwise send the write anywhere on the file system (O_NOFOLLOW).
bool WriteFile(const fs::path& path, std::string_view bytes, std::ostream& err) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ELOOP) {
    err << "gridrun export: refusing to write " << path.string()
        << ": it is a symbolic link\n";
    return false;
  }
  bool ok = fd >= 0;
  for (size_t done = 0; ok && done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  if (fd >= 0 && ::close(fd) != 0) ok = false;
  if (!ok) {
    err << "gridrun export: cannot write " << path.string() << ": " << std::strerror(errno) << "\n";
    return false;
  }
  return true;
}

}  // namespace

std::string SanitizeFileName(std::string_view name) {
  std::string safe;
  safe.reserve(name.size());
  bool only_dots = true;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    safe += ok ? c : '_';
    only_dots = only_dots && c == '.';
  }
  if (only_dots) return "_";
  return safe;
}

// spec.yaml and the model files it names, at the paths it names them by
// (relative, inside `dir`), so `gridrun submit DIR/spec.yaml` re-runs the
// experiment from the database alone. A path that would leave `dir`
// (absolute, `..`) or pass through a symbolic link is refused.
int WriteSpecAndModelFiles(const coordinator::ExperimentResults& results, const fs::path& dir,
                           std::ostream& out, std::ostream& err) {
  if (!WriteFile(dir / "spec.yaml", results.spec_yaml, err)) return 1;
  const fs::path root = fs::absolute(dir).lexically_normal();
  for (const auto& [name, text] : results.model_files) {
    const fs::path relative = fs::path(name).lexically_normal();
    const fs::path path = (root / relative).lexically_normal();
    const auto [end, unused] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
    if (relative.is_absolute() || name.find("..") != std::string::npos || end != root.end()) {
      err << "gridrun export: model file '" << name << "' is not a path inside "
          << dir.string() << "; not written\n";
      return 1;
    }
    std::error_code error;
    fs::create_directories(path.parent_path(), error);
    for (fs::path p = path.parent_path(); p != root && p.has_relative_path(); p = p.parent_path()) {
      if (fs::is_symlink(p, error)) {
        err << "gridrun export: refusing to write into " << p.string()
            << ": it is a symbolic link\n";
        return 1;
      }
    }
    if (!WriteFile(path, text, err)) return 1;
  }
  out << "wrote " << (dir / "spec.yaml").string();
  if (!results.model_files.empty()) {
    out << " and " << results.model_files.size() << " model file"
        << (results.model_files.size() == 1 ? "" : "s");
  }
  out << "\n";
  return 0;
}

int RunExport(const ExportOptions& options, std::ostream& out, std::ostream& err) {
  if (options.out_dir.empty() && options.models_dir.empty()) {
    err << "gridrun export: give --out DIR (results), --models DIR (trained networks) or both\n";
    return 2;  // a usage error, as gridrun_main.cpp's exit codes say
  }
  if (options.out_dir.empty()) return ExportModels(options, out, err);
  auto results = coordinator::ReadExperimentFromFile(options.db_path, options.experiment,
                                                     /*with_images=*/true);
  if (!results.ok()) {
    err << "gridrun export: " << results.status().message() << "\n";
    return 1;
  }
  const fs::path dir(options.out_dir);
  const fs::path samples_dir = dir / "samples";
  std::error_code error;
  fs::create_directories(samples_dir, error);
  if (error) {
    err << "gridrun export: cannot create " << samples_dir.string() << ": " << error.message()
        << "\n";
    return 1;
  }
  // samples/ is ours to create: a symlink there would lead the images out.
  if (fs::is_symlink(samples_dir, error)) {
    err << "gridrun export: refusing to write into " << samples_dir.string()
        << ": it is a symbolic link\n";
    return 1;
  }

  // metrics.csv
  std::string csv = "trial,number";
  for (const std::string& axis : results->axes) csv += "," + CsvEscape(axis);
  csv += ",name,step,epoch,value\n";
  int64_t points = 0;
  for (const TrialResults& trial : results->trials) {
    std::string prefix = std::to_string(trial.trial_id) + "," + std::to_string(trial.number);
    for (const std::string& axis : results->axes) {
      auto it = trial.params.find(axis);
      prefix += "," + (it == trial.params.end() ? std::string() : CsvEscape(it->second));
    }
    for (const auto& [name, series] : trial.series) {
      const std::string escaped_name = CsvEscape(name);
      for (const MetricSample& point : series) {
        csv += prefix + "," + escaped_name + "," + std::to_string(point.step) + "," +
               std::to_string(point.epoch) + "," +
               (point.value ? ExactNumber(*point.value) : std::string()) + "\n";
        ++points;
      }
    }
  }
  const fs::path csv_path = dir / "metrics.csv";
  if (!WriteFile(csv_path, csv, err)) return 1;
  out << "wrote " << csv_path.string() << " (" << points << " points of " << results->trials.size()
      << " trials)\n";

  // samples/
  std::set<std::string> used;
  int64_t images = 0;
  for (const TrialResults& trial : results->trials) {
    for (const SampleImage& sample : trial.samples) {
      const std::string stem =
          "trial-" + std::to_string(trial.number) + "_" + SanitizeFileName(sample.name) +
          "_epoch-" + std::to_string(sample.epoch) + "_step-" + std::to_string(sample.step);
      std::string file_name = stem + ".png";
      for (int n = 2; !used.insert(file_name).second; ++n) {
        file_name = stem + "-" + std::to_string(n) + ".png";
      }
      const fs::path path = samples_dir / file_name;
      // Belt and braces: the name is one component, so this always holds.
      if (path.lexically_normal().parent_path() != samples_dir.lexically_normal()) {
        err << "gridrun export: refusing to write " << path.string() << " outside "
            << samples_dir.string() << "\n";
        return 1;
      }
      if (!WriteFile(path, sample.png, err)) return 1;
      ++images;
    }
  }
  out << "wrote " << images << " sample image" << (images == 1 ? "" : "s") << " to "
      << samples_dir.string() << "\n";
  const int code = WriteSpecAndModelFiles(*results, dir, out, err);
  if (code != 0 || options.models_dir.empty()) return code;
  return ExportModels(options, out, err);
}

void AddExportCommand(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto options = std::make_shared<ExportOptions>();
  CLI::App* cmd = app.add_subcommand(
      "export", "write an experiment's metric points (metrics.csv) and sample PNGs to a folder");
  cmd->add_option("--db", options->db_path, "the database file (read-only)")->required();
  cmd->add_option("experiment", options->experiment, "experiment id or name")->required();
  cmd->add_option("--out", options->out_dir,
                                         "folder for metrics.csv, samples/, spec.yaml (created if missing)");
  cmd->add_option(
      "--models", options->models_dir,
      "folder for each COMPLETE trial's trained networks: state dicts, model.py, manifest.json");
  cmd->add_option("--trial", options->trial, "--models of this trial number only")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([options, &out, &err] {
    const int code = RunExport(*options, out, err);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace gridrun::cli
