#include "worker/model_tool.h"

#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/model_catalog.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "common/trial_config.h"
#include "models/dataset.h"
#include "models/image_grid.h"
#include "models/model_factory.h"
#include "models/networks.h"
#include "models/torchscript_network.h"
#include "models/trained_networks.h"
#include "modelspec/model_file.h"
#include "modelspec/model_resolve.h"
#include "modelspec/pytorch_source.h"
#include "modelspec/trial_model.h"

namespace gridrun::worker {
namespace {

namespace fs = std::filesystem;

struct Inputs {
  std::string config_path;
  std::string checkpoint_path;
  std::string sha256;
  // The TorchScript files the trial's model file names (the coordinator's
  // stored copies; each is keyed by the sha256 of its bytes).
  std::vector<std::string> torchscript_paths;
};

// One trial's model with its trained weights loaded.
struct TrainedModel {
  TrialConfig config;
  const DatasetInfo* dataset = nullptr;
  std::shared_ptr<const modelspec::ModelFile> file;
  modelspec::ResolvedModel resolved;
  models::ModelBundle bundle;
  int64_t step = 0;
};

absl::StatusOr<std::string> ReadWholeFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read the ", what, " ", path));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return std::move(buffer).str();
}

absl::Status WriteWholeFile(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

absl::StatusOr<TrainedModel> LoadTrainedModel(const Inputs& in) {
  TrainedModel m;
  ASSIGN_OR_RETURN(const std::string json, ReadWholeFile(in.config_path, "trial config"));
  ASSIGN_OR_RETURN(m.config, TrialConfigFromJson(json));
  m.dataset = FindDataset(m.config.dataset);
  if (m.dataset == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown data set '", m.config.dataset, "'"));
  }
  ASSIGN_OR_RETURN(m.file, modelspec::ModelFileOfTrial(m.config));
  ASSIGN_OR_RETURN(m.resolved, modelspec::ResolveTrialModel(m.config));
  models::TorchScriptFiles torchscript;
  for (const std::string& path : in.torchscript_paths) {
    ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(path, "TorchScript file"));
    torchscript[Sha256Hex(bytes)] = std::move(bytes);
  }
  ASSIGN_OR_RETURN(m.bundle, models::BuildModel(m.config, *m.dataset, torchscript));

  ASSIGN_OR_RETURN(const std::string bytes, ReadWholeFile(in.checkpoint_path, "checkpoint"));
  if (!in.sha256.empty() && Sha256Hex(bytes) != in.sha256) {
    return absl::DataLossError(absl::StrCat("checkpoint ", in.checkpoint_path,
                                            " is corrupt: sha256 ", Sha256Hex(bytes),
                                            ", the database says ", in.sha256));
  }
  ASSIGN_OR_RETURN(const models::CheckpointModules modules, models::ReadCheckpointModules(bytes));
  RETURN_IF_ERROR(models::LoadCheckpointModules(modules, m.bundle));
  m.step = modules.step;
  for (const auto& [role, module] : m.bundle.Modules()) module->eval();
  return m;
}

// ---- export -----------------------------------------------------------------

// A network defined by TorchScript is exported as TorchScript with its
// trained weights (NAME.torchscript.pt, torch.jit.load), not as a state dict
// + model.py class: gridrun never saw its source. A VAE is exported so when
// either half is scripted; each scripted half is written, and the VAE's
// whole state dict beside them.
bool IsTorchScriptNetwork(const TrainedModel& model, const std::string& module_role) {
  const models::ModelBundle& b = model.bundle;
  if (module_role == "generator") return b.generator && b.generator->scripted() != nullptr;
  if (module_role == "critic") return b.critic && b.critic->scripted() != nullptr;
  if (module_role == "vae") {
    return b.vae && (b.vae->scripted_encoder() != nullptr || b.vae->scripted_decoder() != nullptr);
  }
  return false;
}

absl::Status ExportTorchScriptNetwork(const TrainedModel& model, const std::string& module_role,
                                      const fs::path& dir) {
  std::vector<std::pair<std::string, models::TorchScriptNetPtr>> parts;
  const models::ModelBundle& b = model.bundle;
  if (module_role == "generator") parts.emplace_back("generator", b.generator->scripted());
  if (module_role == "critic") parts.emplace_back("critic", b.critic->scripted());
  if (module_role == "vae") {
    if (b.vae->scripted_encoder()) parts.emplace_back("encoder", b.vae->scripted_encoder());
    if (b.vae->scripted_decoder()) parts.emplace_back("decoder", b.vae->scripted_decoder());
    ASSIGN_OR_RETURN(const std::string bytes, models::StateDictFileBytes(*b.vae.ptr()));
    const fs::path path = dir / "vae.pt";
    RETURN_IF_ERROR(WriteWholeFile(path, bytes));
    std::cout << "wrote " << path.string() << "\n";
  }
  for (const auto& [name, net] : parts) {
    const fs::path path = dir / (name + ".torchscript.pt");
    RETURN_IF_ERROR(models::SaveTorchScript(*net, path.string()));
    std::cout << "wrote " << path.string() << "\n";
  }
  return absl::OkStatus();
}

absl::Status Export(const Inputs& in, const std::string& out_dir, const std::string& describe) {
  ASSIGN_OR_RETURN(const TrainedModel m, LoadTrainedModel(in));
  const fs::path dir(out_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", out_dir, ": ", ec.message()));
  bool all_torchscript = true;
  for (const auto& [role, module] : m.bundle.Modules()) {
    if (IsTorchScriptNetwork(m, role)) {
      RETURN_IF_ERROR(ExportTorchScriptNetwork(m, role, dir));
      continue;
    }
    all_torchscript = false;
    ASSIGN_OR_RETURN(const std::string bytes, models::StateDictFileBytes(*module));
    const fs::path path = dir / (role + ".pt");
    RETURN_IF_ERROR(WriteWholeFile(path, bytes));
    std::cout << "wrote " << path.string() << "\n";
  }
  if (!all_torchscript) {
    const fs::path path = dir / "model.py";
    RETURN_IF_ERROR(WriteWholeFile(
        path, modelspec::PyTorchSource(m.resolved, {m.config.dataset, describe})));
    std::cout << "wrote " << path.string() << "\n";
  }
  return absl::OkStatus();
}

// ---- sample -----------------------------------------------------------------

struct SampleOptions {
  std::string out;
  std::string raw;
  int64_t count = 0;  // 0: the default of the layout
  int64_t label = -1;
  int64_t seed = 0;
  bool interpolate = false;
  int64_t to_seed = -1;
};

torch::Tensor Noise(int64_t n, int64_t latent, int64_t seed) {
  at::Generator gen = at::detail::createCPUGenerator(static_cast<uint64_t>(seed));
  return torch::randn({n, latent}, gen, torch::kFloat32);
}

absl::Status Sample(const Inputs& in, const SampleOptions& o) {
  ASSIGN_OR_RETURN(TrainedModel m, LoadTrainedModel(in));
  if (!m.bundle.generator && !m.bundle.vae) {
    return absl::InvalidArgumentError(absl::StrCat("model '", m.bundle.name,
                                                   "' is a classifier: it draws no samples"));
  }
  const int64_t classes = m.bundle.conditional ? m.bundle.num_classes : 0;
  if (o.label >= 0 && classes == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--label: model '", m.bundle.name, "' is not conditional"));
  }
  if (o.label >= classes && classes > 0) {
    return absl::InvalidArgumentError(absl::StrCat("--label ", o.label, ": ", m.config.dataset,
                                                   " has classes 0 to ", classes - 1));
  }
  const bool row_per_class = classes > 0 && o.label < 0;
  const int64_t latent = m.bundle.latent_size;
  int64_t per_row = o.count > 0 ? o.count : (o.interpolate ? 10 : (row_per_class ? 8 : 64));
  torch::Tensor z;  // [per_row or n, latent]
  int rows = 1, cols = 1;
  if (o.interpolate) {
    const int64_t to = o.to_seed >= 0 ? o.to_seed : o.seed + 1;
    const torch::Tensor a = Noise(1, latent, o.seed), b = Noise(1, latent, to);
    const torch::Tensor t =
        per_row == 1 ? torch::zeros({1, 1})
                     : torch::linspace(0, 1, per_row, torch::kFloat32).unsqueeze(1);
    z = a + t * (b - a);
    cols = static_cast<int>(per_row);
  } else if (row_per_class) {
    z = Noise(per_row, latent, o.seed);
    cols = static_cast<int>(per_row);
  } else {
    z = Noise(per_row, latent, o.seed);
    std::tie(rows, cols) = models::SquareGridShape(per_row);
  }
  torch::Tensor labels;
  if (row_per_class) {
    rows = static_cast<int>(classes);
    labels = torch::arange(classes, torch::kLong).repeat_interleave(z.size(0));
    z = z.repeat({classes, 1});
  } else if (classes > 0) {
    labels = torch::full({z.size(0)}, o.label, torch::kLong);
  }
  torch::Tensor images;
  models::Range range = models::Range::kMinusOneOne;
  {
    torch::NoGradGuard no_grad;
    if (m.bundle.generator) {
      images = m.bundle.generator->forward(z, labels);
    } else {
      images = m.bundle.vae->decode(z);
      range = models::Range::kZeroOne;
    }
  }
  const std::string png = models::EncodePngGrid(images, rows, cols, range);
  if (png.empty()) return absl::InternalError("encoding the PNG grid failed");
  RETURN_IF_ERROR(WriteWholeFile(o.out, png));
  std::cout << "wrote " << o.out << " (" << rows << " x " << cols << " images of "
            << m.bundle.image.ToString() << ", trial step " << m.step << ")\n";
  if (!o.raw.empty()) {
    models::NamedTensors raw = {{"z", z}, {"images", images}};
    if (labels.defined()) raw["labels"] = labels;
    ASSIGN_OR_RETURN(const std::string bytes, models::TensorDictFileBytes(raw));
    RETURN_IF_ERROR(WriteWholeFile(o.raw, bytes));
    std::cout << "wrote " << o.raw << "\n";
  }
  return absl::OkStatus();
}

void AddInputs(CLI::App* cmd, Inputs& in) {
  cmd->add_option("--config", in.config_path, "the trial's config (canonical JSON)")->required();
  cmd->add_option("--checkpoint", in.checkpoint_path, "the trial's checkpoint file")->required();
  cmd->add_option("--sha256", in.sha256, "the checkpoint's sha256 (checked when given)");
  cmd->add_option("--torchscript", in.torchscript_paths,
                  "a TorchScript file the model names (repeat for each)");
}

}  // namespace

bool IsModelToolInvocation(int argc, char** argv) {
  return argc >= 2 && std::strcmp(argv[1], "model-tool") == 0;
}

int RunModelTool(int argc, char** argv) {
  CLI::App app{"gridrun-worker model-tool: a trained trial's networks out (gridrun export "
               "--models, gridrun sample)"};
  app.require_subcommand(1);
  Inputs in;
  std::string out_dir, describe;
  CLI::App* exp = app.add_subcommand("export", "write state dicts and model.py");
  AddInputs(exp, in);
  exp->add_option("--out", out_dir, "folder to write")->required();
  exp->add_option("--describe", describe, "what model.py's header says the model is");
  SampleOptions so;
  CLI::App* smp = app.add_subcommand("sample", "draw new samples as a PNG grid");
  AddInputs(smp, in);
  smp->add_option("--out", so.out, "the PNG to write")->required();
  smp->add_option("--raw", so.raw, "also write z and the raw images (torch.load-able)");
  smp->add_option("--count", so.count, "images (per row when one row per class)")
      ->check(CLI::Range(1, 1024));
  smp->add_option("--label", so.label, "class of every image (conditional models)")
      ->check(CLI::NonNegativeNumber);
  smp->add_option("--seed", so.seed, "noise seed")->check(CLI::NonNegativeNumber);
  smp->add_flag("--interpolate", so.interpolate, "a walk from z(seed) to z(to-seed)");
  smp->add_option("--to-seed", so.to_seed, "the walk's end (default seed + 1)")
      ->check(CLI::NonNegativeNumber);
  try {
    app.parse(argc - 1, argv + 1);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  absl::Status status = exp->parsed() ? Export(in, out_dir, describe) : Sample(in, so);
  if (!status.ok()) {
    std::cerr << "gridrun-worker model-tool: " << status.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace gridrun::worker
