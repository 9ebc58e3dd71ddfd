#include "models/layer_table.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace gridrun::models {
namespace {

namespace nn = torch::nn;

// "torch::nn::Conv2dImpl" -> "Conv2d".
std::string TypeName(const nn::Module& module) {
  std::string name = module.name();
  if (auto pos = name.rfind("::"); pos != std::string::npos) name = name.substr(pos + 2);
  if (name.size() > 4 && name.compare(name.size() - 4, 4, "Impl") == 0) {
    name.resize(name.size() - 4);
  }
  return name;
}

class Tracer {
 public:
  explicit Tracer(CountConvention convention) : convention_(convention) {}

  torch::Tensor Walk(nn::Sequential& seq, torch::Tensor x) {
    for (auto& child : *seq) {
      x = child.forward(x);
      if (child.ptr()->as<nn::Functional>() != nullptr) continue;  // F.xxx call: no row
      Record(*child.ptr(), x);
    }
    return x;
  }

  torch::Tensor Apply(nn::Linear& linear, const torch::Tensor& x) {
    torch::Tensor y = linear->forward(x);
    Record(*linear, y);
    return y;
  }

  std::vector<LayerRow>& rows() { return rows_; }

 private:
  void Record(const nn::Module& module, const torch::Tensor& output) {
    ParameterCount count = CountParameters(module, convention_);
    rows_.push_back(
        LayerRow{TypeName(module), output.sizes().vec(), count.total(), count.non_trainable});
  }

  CountConvention convention_;
  std::vector<LayerRow> rows_;
};

torch::Device DeviceOf(const nn::Module& module) {
  for (const auto& p : module.parameters()) return p.device();
  return torch::kCPU;
}

LayerTableSection TraceOne(const ModelBundle& bundle, const std::string& role, nn::Module& module,
                           const ImageShape& input, at::Generator& gen) {
  const torch::Device device = DeviceOf(module);
  auto options = torch::TensorOptions().dtype(torch::kFloat32);
  auto images = [&] {
    return torch::rand({2, input.channels, input.height, input.width}, gen, options).to(device);
  };
  auto latent = [&](int64_t size) { return torch::rand({2, size}, gen, options).to(device); };
  const torch::Tensor labels = torch::zeros({2}, torch::kLong).to(device);

  LayerTableSection section;
  section.role = role;
  Tracer tracer(bundle.count_convention);
  if (role == "generator") {
    section.title = "Generator";
    Generator g = bundle.generator;
    tracer.Walk(g->net(), g->NetInput(latent(g->layout().latent_size), labels));
  } else if (role == "critic") {
    section.title = bundle.objective == Objective::kGan ? "Discriminator" : "Critic";
    Critic d = bundle.critic;
    tracer.Walk(d->net(), d->NetInput(images(), labels));
  } else if (role == "vae") {
    section.title = "VAE";
    Vae vae = bundle.vae;
    torch::Tensor h = tracer.Walk(vae->encoder(), vae->EncoderInput(images()));
    torch::Tensor mu = tracer.Apply(vae->z_mean(), h);
    tracer.Apply(vae->z_logvar(), h);
    tracer.Walk(vae->decoder(), mu);
  } else {
    section.title = "Classifier";
    Classifier c = bundle.classifier;
    torch::Tensor h = tracer.Walk(c->layers(), c->LayersInput(images()));
    tracer.Apply(c->output_projection(), h);
  }
  section.rows = std::move(tracer.rows());
  section.total = CountParameters(module, bundle.count_convention);
  return section;
}

}  // namespace

absl::StatusOr<std::vector<LayerTableSection>> TraceLayers(const ModelBundle& bundle,
                                                           const ImageShape& input) {
  std::vector<LayerTableSection> sections;
  at::Generator gen = at::detail::createCPUGenerator(/*seed_in=*/0);
  for (const auto& [role, module] : bundle.Modules()) {
    const bool was_training = module->is_training();
    module->eval();
    try {
      torch::NoGradGuard no_grad;
      sections.push_back(TraceOne(bundle, role, *module, input, gen));
    } catch (const std::exception& e) {
      module->train(was_training);
      return absl::InvalidArgumentError(absl::StrCat("layer table of ", bundle.name, " ", role,
                                                     " on ", input.ToString(), ": ", e.what()));
    }
    module->train(was_training);
  }
  return sections;
}

std::string FormatLayerTable(const LayerTableSection& section) {
  std::string out = absl::StrCat(section.title, ":\n\n");
  absl::StrAppend(&out, "| Layer (type) | Output Shape | Param # |\n|---|---|---|\n");
  int index = 0;
  for (const LayerRow& row : section.rows) {
    std::vector<std::string> dims = {"-1"};
    for (size_t i = 1; i < row.output_shape.size(); ++i) {
      dims.push_back(std::to_string(row.output_shape[i]));
    }
    absl::StrAppend(&out, "| ", row.type, "-", ++index, " | [", absl::StrJoin(dims, ", "), "] | ",
                    WithThousands(row.params), " |\n");
  }
  absl::StrAppend(&out, "\nTotal params: ", WithThousands(section.total.total()),
                  "\nTrainable params: ", WithThousands(section.total.trainable),
                  "\nNon-trainable params: ", WithThousands(section.total.non_trainable), "\n");
  return out;
}

absl::StatusOr<std::string> LayerTable(const ModelBundle& bundle, const ImageShape& input) {
  ASSIGN_OR_RETURN(const auto sections, TraceLayers(bundle, input));
  std::vector<std::string> parts;
  for (const auto& s : sections) parts.push_back(FormatLayerTable(s));
  return absl::StrJoin(parts, "\n");
}

absl::StatusOr<std::string> LayerTable(const ModelBundle& bundle) {
  return LayerTable(bundle, bundle.image);
}

}  // namespace gridrun::models
