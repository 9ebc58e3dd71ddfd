// ResolvedLayerTable and WithThousands (modelspec/model_resolve.h): a
// resolved model printed as the seeds printed theirs (torchsummary).
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "modelspec/model_resolve.h"

namespace gridrun::modelspec {

std::string WithThousands(int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

std::string ResolvedLayerTable(const ResolvedModel& model) {
  const bool keras = model.file->keras_counts;
  struct Section {
    std::string title;
    std::vector<const ResolvedLayer*> rows;
    std::string notes;
  };
  std::vector<Section> sections;
  // The order of models::ModelBundle::Modules(), whatever the file's order.
  std::vector<const ResolvedNetwork*> ordered;
  for (const char* role : {"encoder", "generator", "critic", "classifier"}) {
    if (const ResolvedNetwork* n = model.Network(role)) ordered.push_back(n);
  }
  for (const ResolvedNetwork* network : ordered) {
    const ResolvedNetwork& n = *network;
    Section s;
    if (n.role == "generator") s.title = "Generator";
    if (n.role == "critic") {
      s.title = model.file->objective == Objective::kGan ? "Discriminator" : "Critic";
    }
    if (n.role == "encoder") s.title = "VAE";
    if (n.role == "classifier") s.title = "Classifier";
    for (const ResolvedLayer& l : n.layers) s.rows.push_back(&l);
    if (n.role == "encoder" && n.torchscript.empty()) {
      s.rows.push_back(&model.z_mean);
      s.rows.push_back(&model.z_logvar);
    }
    if (n.role == "encoder") {
      for (const ResolvedLayer& l : model.Network("decoder")->layers) s.rows.push_back(&l);
    }
    // TorchScript networks: their layers are the module's own.
    std::vector<const ResolvedNetwork*> shown = {&n};
    if (n.role == "encoder") shown.push_back(model.Network("decoder"));
    for (const ResolvedNetwork* t : shown) {
      if (t->torchscript.empty()) continue;
      absl::StrAppend(&s.notes, t->role, ": TorchScript module ", t->torchscript,
                      " (layers and parameters: the module's own)\n");
    }
    sections.push_back(std::move(s));
  }
  std::vector<std::string> parts;
  for (const Section& s : sections) {
    if (s.rows.empty()) {  // TorchScript only: its layers are the module's own
      parts.push_back(absl::StrCat(s.title, ":\n\n", s.notes));
      continue;
    }
    std::string out = absl::StrCat(s.title, ":\n\n",
                                   s.notes,
                                   "| Layer (type) | Output Shape | Param # |\n|---|---|---|\n");
    int index = 0;
    int64_t trainable = 0, non_trainable = 0;
    for (const ResolvedLayer* l : s.rows) {
      trainable += l->params.trainable;
      non_trainable += keras ? l->params.keras_non_trainable : 0;
      if (l->functional) continue;
      std::vector<std::string> dims = {"-1"};
      for (int64_t d : l->output) dims.push_back(std::to_string(d));
      const int64_t params = l->params.trainable + (keras ? l->params.keras_non_trainable : 0);
      absl::StrAppend(&out, "| ", l->type->name, "-", ++index, " | [", absl::StrJoin(dims, ", "),
                      "] | ", WithThousands(params), " |\n");
    }
    absl::StrAppend(&out, "\nTotal params: ", WithThousands(trainable + non_trainable),
                    "\nTrainable params: ", WithThousands(trainable),
                    "\nNon-trainable params: ", WithThousands(non_trainable), "\n");
    parts.push_back(std::move(out));
  }
  return absl::StrJoin(parts, "\n");
}

}  // namespace gridrun::modelspec
