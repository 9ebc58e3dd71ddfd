// Fuzz target: model files (modelspec/): parsing, then resolution for two
// data sets and two sets of sizes, and the layer table of what resolved.
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_targets.h"
#include "modelspec/model_file.h"
#include "modelspec/model_resolve.h"

namespace gridrun::fuzz {

int ModelFileOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto file = modelspec::ParseModelFile("fuzz.yaml", text);
  if (!file.ok()) {
    FuzzCheck(file.status().code() == absl::StatusCode::kInvalidArgument,
              absl::StrCat("ParseModelFile returned ", file.status().ToString()));
    FuzzCheck(!file.status().message().empty(), "ParseModelFile error without a message");
    return 0;
  }
  // Small limits keep each input fast; the limit checks are fuzzed too.
  modelspec::ResolveLimits limits;
  limits.max_parameters = 50'000'000;
  limits.max_activation_values = 1 << 22;
  const DatasetInfo datasets[] = {{"mnist", 1, 28, 28, 10}, {"cifar10", 3, 32, 32, 10}};
  for (const DatasetInfo& d : datasets) {
    for (const modelspec::ModelSizes sizes : {modelspec::ModelSizes{}, modelspec::ModelSizes{3, 5, 2}}) {
      auto model = modelspec::ResolveModel(*file, d, sizes, limits);
      if (!model.ok()) {
        FuzzCheck(model.status().code() == absl::StatusCode::kInvalidArgument,
                  absl::StrCat("ResolveModel returned ", model.status().ToString()));
        FuzzCheck(std::string(model.status().message()).starts_with("fuzz.yaml: "),
                  "a resolve error that does not name the file");
        continue;
      }
      FuzzCheck(model->TotalParams().trainable <= limits.max_parameters, "parameter limit ignored");
      for (const modelspec::ResolvedNetwork& n : model->networks) {
        for (const modelspec::ResolvedLayer& l : n.layers) {
          for (int64_t dim : l.output) FuzzCheck(dim >= 1, "a layer output with a dimension < 1");
        }
      }
      FuzzCheck(!modelspec::ResolvedLayerTable(*model).empty(), "empty layer table");
      // Resolution is deterministic.
      auto again = modelspec::ResolveModel(*file, d, sizes, limits);
      FuzzCheck(again.ok() && modelspec::ResolvedLayerTable(*again) ==
                                  modelspec::ResolvedLayerTable(*model),
                "ResolveModel is not deterministic");
    }
  }
  return 0;
}

}  // namespace gridrun::fuzz
