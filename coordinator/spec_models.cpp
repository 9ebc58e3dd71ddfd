// The models a grid spec names (coordinator/spec_parser.h): built-in models
// and the user's model files, each checked to build for every combination
// of the grid's data sets and sizes before anything is stored.
#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/spec_parser.h"
#include "modelspec/model_resolve.h"
#include "modelspec/zoo.h"

namespace gridrun::coordinator {
namespace {

// "latent_size 16, width 8" for the sizes a model reads (0: its default).
std::string SizesText(const ModelInfo& model, const modelspec::ModelSizes& sizes) {
  std::vector<std::string> parts;
  if (model.default_latent_size > 0) {
    parts.push_back(absl::StrCat("latent_size ", sizes.latent_size > 0 ? sizes.latent_size
                                                                        : model.default_latent_size));
  }
  if (model.default_width > 0) {
    parts.push_back(absl::StrCat("width ", sizes.width > 0 ? sizes.width : model.default_width));
  }
  if (model.default_depth > 0) {
    parts.push_back(absl::StrCat("depth ", sizes.depth > 0 ? sizes.depth : model.default_depth));
  }
  return absl::StrJoin(parts, ", ");
}

}  // namespace

const ModelInfo* SpecParser::LookupModel(std::string_view name) const {
  if (auto it = model_file_infos_.find(name); it != model_file_infos_.end()) return &it->second;
  if (modelspec::IsModelFilePath(name)) return nullptr;  // unread (structure_only) or refused
  return FindModel(name);
}

std::vector<SpecParser::Choice> SpecParser::ModelChoices() const {
  std::vector<Choice> known;
  for (const Choice& c : ChoicesFor("model")) {
    if (LookupModel(std::get<std::string>(c.value)) != nullptr) known.push_back(c);
  }
  return known;
}

void SpecParser::CheckModelFiles() {
  if (limits_.structure_only) return;
  for (const Choice& c : ChoicesFor("model")) {
    const std::string& path = std::get<std::string>(c.value);
    if (!modelspec::IsModelFilePath(path) || model_files_.contains(path)) continue;
    auto text = model_file_texts_.find(path);
    if (text == model_file_texts_.end()) {
      errors_.Add(c.line, c.path,
                  absl::StrCat("model file '", path,
                               "' was not sent with the spec (gridrun submit, local and validate "
                               "read it relative to the spec file)"));
      continue;
    }
    auto file = modelspec::ParseModelFile(path, text->second);
    if (!file.ok()) {
      errors_.Add(c.line, c.path, std::string(file.status().message()));
      continue;
    }
    bool hashed = true;
    for (const modelspec::NetworkDecl& net : (*file)->networks) {
      if (!net.is_torchscript() || !net.torchscript_sha256.empty()) continue;
      errors_.Add(c.line, c.path,
                  absl::StrCat("model file '", path, "': ", net.role, ": TorchScript file '",
                               net.torchscript,
                               "' was not sent with it (gridrun submit, local and validate read "
                               "it relative to the model file and add its sha256)"));
      hashed = false;
    }
    if (!hashed) continue;
    auto [it, inserted] = model_files_.emplace(path, *std::move(file));
    ModelInfo info = it->second->Info();
    info.name = it->first;  // named by its path in every message
    model_file_infos_.emplace(path, info);
  }
}

// Every model x data set x latent_size x width x depth the grid can pair.
// The product is at most the grid's trial count (each factor is an axis or
// a single value), which CheckTrialCount bounded; identical messages are
// kept once by ErrorList.
void SpecParser::CheckModelsBuild() {
  if (!errors_.empty() || limits_.structure_only) return;  // already refused, or not asked
  const std::vector<Choice> datasets = ChoicesFor("dataset");
  auto values = [&](const char* field) {
    std::vector<int64_t> out;
    for (const Choice& c : ChoicesFor(field)) out.push_back(std::get<int64_t>(c.value));
    if (out.empty()) out.push_back(0);  // the model's default
    return out;
  };
  const std::vector<int64_t> latents = values("latent_size");
  const std::vector<int64_t> widths = values("width");
  const std::vector<int64_t> depths = values("depth");
  for (const Choice& m : ModelChoices()) {
    std::set<std::string> reported;  // one line per distinct problem of a model
    const std::string& name = std::get<std::string>(m.value);
    const ModelInfo& info = *LookupModel(name);
    std::shared_ptr<const modelspec::ModelFile> file;
    if (auto it = model_files_.find(name); it != model_files_.end()) {
      file = it->second;
    } else {
      file = modelspec::FindZooFile(name);
    }
    for (const Choice& d : datasets) {
      const DatasetInfo& data = *FindDataset(std::get<std::string>(d.value));
      if (info.fixed_channels != 0 &&
          (info.fixed_channels != data.channels || info.fixed_size != data.height)) {
        continue;  // CheckShapes said so
      }
      for (int64_t latent : info.latent_adjustable ? latents : std::vector<int64_t>{0}) {
        for (int64_t width : info.width_adjustable ? widths : std::vector<int64_t>{0}) {
          for (int64_t depth : info.depth_adjustable ? depths : std::vector<int64_t>{0}) {
            if (errors_.truncated() || Cancelled()) return;
            const modelspec::ModelSizes sizes{latent, width, depth};
            modelspec::ResolveLimits resolve_limits;
            resolve_limits.max_parameters = limits_.max_model_parameters;
            auto resolved = modelspec::ResolveModel(file, data, sizes, resolve_limits);
            if (resolved.ok()) continue;
            if (!reported.insert(std::string(resolved.status().message())).second) continue;
            const std::string sizes_text = SizesText(info, sizes);
            errors_.Add(m.line, m.path,
                        absl::StrCat("model ", name, sizes_text.empty() ? "" : " with ",
                                     sizes_text, " on ", std::string(data.name),
                                     " does not build: ", resolved.status().message()));
          }
        }
      }
    }
  }
}

}  // namespace gridrun::coordinator
