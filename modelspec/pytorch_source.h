// PyTorch source for a resolved model file: the `model.py` that
// `gridrun export --models` writes beside a trial's weights, so that
//
//   from model import Generator
//   G = Generator(); G.load_state_dict(torch.load("generator.pt")); G.eval()
//
// works in a notebook with nothing but PyTorch installed.
//
// The classes mirror models/networks.h module for module, so their
// state_dict keys are the names gridrun's LibTorch modules give their
// parameters and buffers (models/model_builder.h: one Sequential child per
// resolved layer, in order):
//   Generator   net.<i>.*                        forward(z, labels=None) -> images
//   Critic      net.<i>.*                        forward(images, labels=None) -> [B, 1]
//   VAE         encoder.<i>.*, z_mean.*, z_logvar.*, decoder.<i>.*
//               encode(images) -> (mu, logvar); decode(z) -> images in [0, 1]
//   Classifier  layers.<i>.*, output_projection.*   forward(images) -> logits
// A `functional: true` layer is an ordinary parameter-free child here (same
// index, same computation); the extra padding of a Keras 'same' Conv2d with
// an odd total is a `SamePadExtra` child, as in the LibTorch Sequential.
// Every argument is written out, defaults and inferred ones included, so the
// source documents the exact architecture (and does not depend on PyTorch's
// defaults); each layer line ends with a comment giving its model-file line
// and its output shape.
//
// Torch-free on purpose: the text is a function of the resolution alone
// (unit-testable without LibTorch), and the torch tool that writes it
// (worker/model_tool.h) adds only the weights.
// Thread-safety: a pure function.
#pragma once

#include <string>

#include "modelspec/model_resolve.h"

namespace gridrun::modelspec {

// What the header comment says about where the model came from.
struct PyTorchSourceInfo {
  std::string dataset;      // e.g. "mnist"
  std::string description;  // e.g. "trial 3 of experiment cgan (config sha256 ...)"
};

// Python 3 source defining one class per module of `model` (Generator and
// Critic; VAE; Classifier) plus the constants IMAGE_SHAPE, LATENT_SIZE and
// NUM_CLASSES (label classes; 0 when unconditional). A TorchScript network
// gets no class (gridrun export writes it back as TorchScript); a VAE gets
// one only when both halves are layer lists.
std::string PyTorchSource(const ResolvedModel& model, const PyTorchSourceInfo& info);

// The class name PyTorchSource gives the module that plays `module_role`
// ("generator", "critic", "vae", "classifier": models::ModelBundle::Modules()),
// or "" for an unknown role.
std::string PyTorchClassName(const std::string& module_role);

}  // namespace gridrun::modelspec
