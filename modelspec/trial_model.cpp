#include "modelspec/trial_model.h"

#include "absl/strings/str_cat.h"
#include "common/model_catalog.h"
#include "common/status_macros.h"
#include "modelspec/zoo.h"

namespace gridrun::modelspec {

absl::StatusOr<std::shared_ptr<const ModelFile>> ModelFileOfTrial(const TrialConfig& config) {
  if (!config.model_source.empty()) return ParseModelFile(config.model, config.model_source);
  std::shared_ptr<const ModelFile> file = FindZooFile(config.model);
  if (file == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("model: unknown model '", config.model, "'; allowed: ", ModelNames()));
  }
  return file;
}

absl::StatusOr<ResolvedModel> ResolveTrialModel(const TrialConfig& config,
                                                const ResolveLimits& limits) {
  ASSIGN_OR_RETURN(std::shared_ptr<const ModelFile> file, ModelFileOfTrial(config));
  const DatasetInfo* data = FindDataset(config.dataset);
  if (data == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("dataset: unknown data set '", config.dataset,
                                                   "'"));
  }
  return ResolveModelForTrial(std::move(file), *data,
                              {config.latent_size, config.width, config.depth}, limits);
}

}  // namespace gridrun::modelspec
