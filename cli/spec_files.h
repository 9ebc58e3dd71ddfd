// Reading what `gridrun validate`, `submit` and `local` send: the grid spec
// file with its `--set` overrides applied, and the model files it names
// (`model: gan.yaml` or a `model` axis of such paths), read relative to the
// spec file's directory. The coordinator never reads a path: these texts
// travel in SubmitGridRequest.model_files.
//
// Thread-safety: no shared state.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/torchscript_files.h"
#include "coordinator/grid_spec.h"

namespace gridrun::cli {

struct SpecFiles {
  std::string text;                         // the spec, --set applied
  coordinator::ModelFileTexts model_files;  // path as written -> text (+ TorchScript hashes)
  std::vector<TorchScriptFile> torchscript;  // the model files' TorchScript files, one per hash
};

// Reads `spec_path`, applies `sets` and reads the model files. On a problem
// prints one line per problem to `err`, each starting with the spec's path
// ("grid.yaml: cannot open file: ...", "grid.yaml: model file 'g.yaml'
// (/abs/g.yaml): cannot open file: ..."), and returns std::nullopt. The
// TorchScript files the model files name are read too, at most
// `max_torchscript_bytes` each (cli/torchscript_files.h).
std::optional<SpecFiles> ReadSpecFiles(const std::string& spec_path,
                                       const std::vector<std::string>& sets, std::ostream& err,
                                       int64_t max_torchscript_bytes = kDefaultMaxTorchScriptBytes);

// The model file paths `spec_text` names (a top-level `model` and the values
// of a `grid.model` axis that end in .yaml or .yml), in order, without
// repeats. Empty when the text is not a YAML map (the parser says why).
std::vector<std::string> ModelFilePaths(const std::string& spec_text);

}  // namespace gridrun::cli
