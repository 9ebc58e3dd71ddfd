#include "cli/spec_files.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/spec_overrides.h"
#include "modelspec/model_file.h"

namespace gridrun::cli {
namespace {

// The file's text, or an error line for `err`.
bool ReadText(const std::filesystem::path& path, size_t limit, std::string& text,
              std::string& problem) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    problem = std::string("cannot open file: ") + std::strerror(errno);
    return false;
  }
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > limit) {
    problem = std::to_string(size) + " bytes; a model file may have at most " +
              std::to_string(limit);
    return false;
  }
  std::ostringstream out;
  out << file.rdbuf();
  if (file.bad()) {
    problem = std::string("cannot read file: ") + std::strerror(errno);
    return false;
  }
  text = out.str();
  return true;
}

}  // namespace

std::vector<std::string> ModelFilePaths(const std::string& spec_text) {
  std::vector<std::string> paths;
  auto add = [&](const YAML::Node& node) {
    if (!node.IsScalar() || !modelspec::IsModelFilePath(node.Scalar())) return;
    if (std::find(paths.begin(), paths.end(), node.Scalar()) == paths.end()) {
      paths.push_back(node.Scalar());
    }
  };
  try {
    const YAML::Node root = YAML::Load(spec_text);
    if (!root.IsMap()) return paths;
    if (root["model"]) add(root["model"]);
    const YAML::Node grid = root["grid"];
    if (grid && grid.IsMap() && grid["model"] && grid["model"].IsSequence()) {
      for (const YAML::Node& value : grid["model"]) add(value);
    }
  } catch (const YAML::Exception&) {
    // ParseGridSpec reports the syntax error with its line.
  }
  return paths;
}

std::optional<SpecFiles> ReadSpecFiles(const std::string& spec_path,
                                       const std::vector<std::string>& sets, std::ostream& err,
                                       int64_t max_torchscript_bytes) {
  std::string text, problem;
  if (!ReadText(spec_path, static_cast<size_t>(-1), text, problem)) {
    err << spec_path << ": " << problem << "\n";
    return std::nullopt;
  }
  auto with_sets = ApplySetOptions(spec_path, text, sets, err);
  if (!with_sets) return std::nullopt;
  SpecFiles files;
  files.text = *std::move(with_sets);
  const std::filesystem::path dir = std::filesystem::path(spec_path).parent_path();
  bool ok = true;
  for (const std::string& model : ModelFilePaths(files.text)) {
    const std::filesystem::path path =
        std::filesystem::path(model).is_absolute() ? std::filesystem::path(model) : dir / model;
    std::string model_text;
    if (!ReadText(path, modelspec::kMaxModelFileBytes, model_text, problem)) {
      err << spec_path << ": model file '" << model << "' (" << path.string() << "): " << problem
          << "\n";
      ok = false;
      continue;
    }
    if (!ReadTorchScriptFiles(spec_path, model, path, &model_text, max_torchscript_bytes,
                              &files.torchscript, err)) {
      ok = false;
      continue;
    }
    files.model_files.emplace(model, std::move(model_text));
  }
  if (!ok) return std::nullopt;
  return files;
}

}  // namespace gridrun::cli
