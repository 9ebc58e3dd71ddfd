// The built-in models: the model files of modelspec/zoo/ (the seed presets
// and the families), compiled into every gridrun binary, and the catalog of
// their names that grid specs, `gridrun models` and the worker use.
//
// Contract: every zoo file parses, and resolves for every data set it fits
// at its default sizes (tests/modelspec/zoo_test.cpp).
// Thread-safety: immutable after first use (static initialisation).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/model_catalog.h"
#include "modelspec/model_file.h"

namespace gridrun {

// One row per zoo file, in the zoo's order (families, then presets).
const std::vector<ModelInfo>& ModelCatalog();

// nullptr when `name` is not a built-in model.
const ModelInfo* FindModel(std::string_view name);

// Names joined with ", " for "allowed: ..." error messages.
std::string ModelNames();

namespace modelspec {

// The parsed zoo file of a built-in model; nullptr when unknown.
std::shared_ptr<const ModelFile> FindZooFile(std::string_view name);

}  // namespace modelspec
}  // namespace gridrun
