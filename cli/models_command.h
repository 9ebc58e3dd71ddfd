// `gridrun models`: the built-in models, or one model's layers.
//
//   gridrun models                       every built-in model: kind, objective,
//                                        input, parameters, description
//   gridrun models NAME|FILE [--dataset D] [--latent N] [--width N] [--depth N]
//                                        the layer table of a built-in model or
//                                        of a model file (.yaml), in the seeds'
//                                        torchsummary format
//
// Torch-free: shapes and parameter counts come from the model file resolver
// (modelspec/model_resolve.h), which tests/models/model_file_test.cpp checks
// against the LibTorch modules the worker builds.
// Thread-safety: no shared state.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <ostream>
#include <string>

namespace gridrun::cli {

struct ModelsOptions {
  std::string model;    // "" lists every built-in model
  std::string dataset;  // "" : the model's own shape, else MNIST
  int64_t latent_size = 0;
  int64_t width = 0;
  int64_t depth = 0;
};

// Returns 0, or 1 after printing the problem on `err`.
int RunModels(const ModelsOptions& options, std::ostream& out, std::ostream& err);

void AddModelsCommand(CLI::App& app, std::ostream& out, std::ostream& err);

}  // namespace gridrun::cli
