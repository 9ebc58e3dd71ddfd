// TorchScript networks (modelspec/model_file.h, `torchscript: PATH`): a
// module the user scripted or traced in PyTorch and saved with
// torch.jit.save, trained by gridrun like a built-in network.
//
// A TorchScriptNet is a torch::nn::Module whose parameters and buffers are
// the loaded module's own tensors (the same TensorImpls, mirrored under the
// module's own dotted names, e.g. "net.0.weight"), so optimizers, gradient
// averaging, checkpoints (models/checkpoint_state.h), Module::to and train()
// / eval() all act on what the script computes with. The Generator, Critic
// and Vae of models/networks.h hold one in place of their layer list.
//
// Where the "run once" check lives: here, in the torch-linked models
// library, called by the builder (models/model_builder.h) whenever a worker
// builds the model, and by `gridrun-worker --check-torchscript`, which the
// torch-free `gridrun validate` / `submit` / `local` run before anything is
// submitted (cli/torchscript_files.h). The coordinator and CLI never link
// LibTorch (their build time, and a coordinator that runs no user code), so
// they cannot load the module themselves; a worker repeats the check so a
// file that bypassed the CLI still fails its trial with the same message.
//
// Thread-safety: like any module, owned by one trainer thread.
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/networks.h"

namespace gridrun::models {

class TorchScriptNetImpl : public torch::nn::Module {
 public:
  // `name` (the path as the model file wrote it) labels every error.
  TorchScriptNetImpl(torch::jit::Module module, std::string name);

  // module.forward(inputs); the IValue it returns.
  torch::IValue Call(std::vector<torch::IValue> inputs);
  // Call, expecting one tensor back (TORCH_CHECK naming the file otherwise).
  torch::Tensor CallTensor(std::vector<torch::IValue> inputs);

  void train(bool on = true) override;
  const std::string& file_name() const { return name_; }
  torch::jit::Module& module() { return module_; }

 private:
  torch::jit::Module module_;
  std::string name_;
};
TORCH_MODULE(TorchScriptNet);

// Loads torch.jit.save bytes onto the CPU. INVALID_ARGUMENT "NAME: not a
// TorchScript module (save it with torch.jit.save): ..." for anything else.
absl::StatusOr<TorchScriptNet> LoadTorchScript(const std::string& bytes, const std::string& name);

// What a network of `role` must compute (model_file.h's contract).
struct TorchScriptContract {
  std::string role;         // generator | critic | encoder | decoder
  int64_t latent_size = 0;  // generator / decoder input, encoder output
  int64_t num_classes = 0;  // > 0: conditional (generator and critic get a one-hot)
  ImageShape image;
};

// Runs `net` once on a batch of 2 (eval mode, no grad; its train mode is
// restored) and checks the output shapes. INVALID_ARGUMENT naming the file,
// the role, the inputs it was given and the output expected, e.g.
//   "critic.pt: critic (image [2, 1, 28, 28], one_hot [2, 10]) must return
//    one score per image ([2] or [2, 1]), returned [2, 7]"
// or the module's own error when it does not run on those inputs.
absl::Status CheckTorchScriptContract(TorchScriptNet& net, const TorchScriptContract& contract);

// Writes `net` with its current (trained) weights as a torch.jit.save file
// that torch.jit.load reads in Python (for `gridrun export`). INTERNAL with
// torch's message on failure.
absl::Status SaveTorchScript(TorchScriptNetImpl& net, const std::string& path);

// The shape text "[2, 1, 28, 28]".
std::string ShapeText(const torch::Tensor& tensor);

}  // namespace gridrun::models
