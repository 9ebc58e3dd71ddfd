#include "cli/models_command.h"

#include <fstream>
#include <iomanip>
#include <memory>
#include <sstream>

#include "common/model_catalog.h"
#include "modelspec/model_resolve.h"
#include "modelspec/zoo.h"

namespace gridrun::cli {
namespace {

// The data set a model is shown on: its own shape, else MNIST.
const DatasetInfo* DefaultDatasetFor(const ModelInfo& model) {
  for (const auto& d : DatasetCatalog()) {
    if (model.fixed_channels == 0 ||
        (d.channels == model.fixed_channels && d.height == model.fixed_size)) {
      return &d;
    }
  }
  return &DatasetCatalog().front();
}

// Parameters as the model's file counts them (Keras files: with BatchNorm's
// moving statistics).
int64_t PrintedParams(const modelspec::ResolvedModel& model) {
  const modelspec::ParamCount count = model.TotalParams();
  return count.trainable + (model.file->keras_counts ? count.keras_non_trainable : 0);
}

int ListModels(std::ostream& out) {
  out << std::left << std::setw(22) << "model" << std::setw(8) << "kind" << std::setw(12)
      << "objective" << std::setw(14) << "input" << std::right << std::setw(12) << "parameters"
      << "  description\n";
  for (const ModelInfo& m : ModelCatalog()) {
    auto resolved = modelspec::ResolveModel(modelspec::FindZooFile(m.name), *DefaultDatasetFor(m), {});
    const std::string params =
        resolved.ok() ? modelspec::WithThousands(PrintedParams(*resolved)) : std::string("?");
    std::ostringstream input;
    if (m.fixed_channels == 0) {
      input << "any";
    } else {
      input << m.fixed_channels << "x" << m.fixed_size << "x" << m.fixed_size;
    }
    out << std::left << std::setw(22) << std::string(m.name) << std::setw(8)
        << (m.is_preset ? "preset" : "family") << std::setw(12)
        << std::string(ObjectiveName(m.objective)) << std::setw(14) << input.str() << std::right
        << std::setw(12) << params << "  " << m.description << "\n";
  }
  out << "\n(family parameter counts are for the default sizes on MNIST; "
         "`gridrun models NAME` prints the layers)\n";
  return 0;
}

// The built-in model or the parsed file `name` names; nullptr after
// printing why.
std::shared_ptr<const modelspec::ModelFile> LoadModel(const std::string& name, std::ostream& err) {
  if (!modelspec::IsModelFilePath(name)) {
    auto file = modelspec::FindZooFile(name);
    if (file == nullptr) {
      err << "gridrun models: unknown model '" << name << "' (known: " << ModelNames()
          << "; or a model file ending in .yaml)\n";
    }
    return file;
  }
  std::ifstream in(name, std::ios::binary);
  if (!in) {
    err << "gridrun models: " << name << ": cannot open file: " << std::strerror(errno) << "\n";
    return nullptr;
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto file = modelspec::ParseModelFile(name, text.str());
  if (!file.ok()) {
    err << "gridrun models: " << file.status().message() << "\n";
    return nullptr;
  }
  return *file;
}

int ShowModel(const ModelsOptions& options, std::ostream& out, std::ostream& err) {
  auto file = LoadModel(options.model, err);
  if (file == nullptr) return 1;
  const ModelInfo info = file->Info();
  const DatasetInfo* d =
      options.dataset.empty() ? DefaultDatasetFor(info) : FindDataset(options.dataset);
  if (d == nullptr) {
    err << "gridrun models: unknown data set '" << options.dataset
        << "' (known: " << DatasetNames() << ")\n";
    return 1;
  }
  auto resolved = modelspec::ResolveModelForTrial(
      file, *d, {options.latent_size, options.width, options.depth});
  if (!resolved.ok()) {
    err << "gridrun models: " << resolved.status().message() << "\n";
    return 1;
  }
  out << options.model << " on " << d->name << " (" << d->channels << "x" << d->height << "x"
      << d->width << ")\n\n"
      << modelspec::ResolvedLayerTable(*resolved);
  return 0;
}

}  // namespace

int RunModels(const ModelsOptions& options, std::ostream& out, std::ostream& err) {
  return options.model.empty() ? ListModels(out) : ShowModel(options, out, err);
}

void AddModelsCommand(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto options = std::make_shared<ModelsOptions>();
  CLI::App* command = app.add_subcommand(
      "models", "list the built-in models, or print the layer table of one or of a model file");
  command->add_option("model", options->model, "a built-in model, or a model file (.yaml)");
  command->add_option("--dataset", options->dataset, "input shape of this data set");
  command->add_option("--latent", options->latent_size, "latent size");
  command->add_option("--width", options->width, "width (models that read it)");
  command->add_option("--depth", options->depth, "depth (models that read it)");
  command->callback([options, &out, &err] {
    const int code = RunModels(*options, out, err);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace gridrun::cli
