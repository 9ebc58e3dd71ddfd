#include "worker/model_tools.h"

#include <CLI/CLI.hpp>
#include <iomanip>
#include <sstream>
#include <string>

#include "common/model_catalog.h"
#include "models/dataset.h"
#include "models/layer_table.h"
#include "models/model_factory.h"

namespace gridrun::worker {
namespace {

// The data set a model is shown on: its preset's shape, else MNIST.
const DatasetInfo* DefaultDatasetFor(const ModelInfo& model) {
  for (const auto& d : DatasetCatalog()) {
    if (model.fixed_channels == 0 ||
        (d.channels == model.fixed_channels && d.height == model.fixed_size)) {
      return &d;
    }
  }
  return &DatasetCatalog().front();
}

int ListModels(std::ostream& out) {
  out << std::left << std::setw(22) << "model" << std::setw(8) << "kind" << std::setw(12)
      << "objective" << std::setw(14) << "input" << std::right << std::setw(12) << "parameters"
      << "  description\n";
  for (const ModelInfo& m : ModelCatalog()) {
    const DatasetInfo* d = DefaultDatasetFor(m);
    auto bundle = models::BuildModelByName(m.name, *d);
    const std::string params =
        bundle.ok() ? models::WithThousands(bundle->Count().total()) : std::string("?");
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

int ShowModel(const std::string& name, const std::string& dataset, int64_t latent, int64_t width,
              int64_t depth, std::ostream& out, std::ostream& err) {
  const ModelInfo* model = FindModel(name);
  if (model == nullptr) {
    err << "gridrun models: unknown model '" << name << "' (known: " << ModelNames() << ")\n";
    return 1;
  }
  const DatasetInfo* d = dataset.empty() ? DefaultDatasetFor(*model) : FindDataset(dataset);
  if (d == nullptr) {
    err << "gridrun models: unknown data set '" << dataset << "' (known: " << DatasetNames()
        << ")\n";
    return 1;
  }
  auto bundle = models::BuildModelByName(name, *d, latent, width, depth);
  if (!bundle.ok()) {
    err << "gridrun models: " << bundle.status().message() << "\n";
    return 1;
  }
  auto table = models::LayerTable(*bundle);
  if (!table.ok()) {
    err << "gridrun models: " << table.status().message() << "\n";
    return 1;
  }
  out << name << " on " << d->name << " (" << d->channels << "x" << d->height << "x" << d->width
      << ")\n\n"
      << *table;
  return 0;
}

}  // namespace

bool IsToolCommand(int argc, char** argv) {
  if (argc < 2) return false;
  const std::string command = argv[1];
  return command == "models";
}

int RunToolCommand(int argc, char** argv, std::ostream& out, std::ostream& err) {
  CLI::App app{"gridrun model tools"};
  app.require_subcommand(1);
  std::string name, dataset;
  int64_t latent = 0, width = 0, depth = 0;
  int code = 0;
  CLI::App* models_cmd = app.add_subcommand("models", "list models, or show one's layers");
  models_cmd->add_option("name", name, "a model from the catalog");
  models_cmd->add_option("--dataset", dataset, "input shape of this data set");
  models_cmd->add_option("--latent", latent, "latent size (families, adjustable presets)");
  models_cmd->add_option("--width", width, "width (families)");
  models_cmd->add_option("--depth", depth, "depth (families)");
  models_cmd->callback([&] {
    code = name.empty() ? ListModels(out) : ShowModel(name, dataset, latent, width, depth, out, err);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err) == 0 ? 0 : 2;
  }
  return code;
}

}  // namespace gridrun::worker
