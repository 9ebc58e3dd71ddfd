#include "modelspec/zoo.h"

#include <cstdlib>
#include <iostream>

#include "modelspec/zoo_files.h"

namespace gridrun {
namespace {

struct Zoo {
  std::vector<std::shared_ptr<const modelspec::ModelFile>> files;
  std::vector<ModelInfo> catalog;  // views into `files`
};

const Zoo& TheZoo() {
  static const Zoo* zoo = [] {
    auto* z = new Zoo;
    for (const modelspec::EmbeddedZooFile& f : modelspec::EmbeddedZooFiles()) {
      auto parsed = modelspec::ParseModelFile(std::string("zoo/") + f.name + ".yaml", f.text);
      if (!parsed.ok()) {
        // A broken built-in model is a build defect, caught by zoo_test.
        std::cerr << "gridrun: built-in model file: " << parsed.status().message() << "\n";
        std::abort();
      }
      z->files.push_back(*parsed);
    }
    for (const auto& f : z->files) z->catalog.push_back(f->Info());
    return z;
  }();
  return *zoo;
}

}  // namespace

const std::vector<ModelInfo>& ModelCatalog() { return TheZoo().catalog; }

const ModelInfo* FindModel(std::string_view name) {
  for (const auto& m : ModelCatalog()) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::string ModelNames() {
  std::string out;
  for (const auto& m : ModelCatalog()) {
    if (!out.empty()) out += ", ";
    out += m.name;
  }
  return out;
}

namespace modelspec {

std::shared_ptr<const ModelFile> FindZooFile(std::string_view name) {
  for (const auto& f : TheZoo().files) {
    if (f->name == name) return f;
  }
  return nullptr;
}

}  // namespace modelspec
}  // namespace gridrun
