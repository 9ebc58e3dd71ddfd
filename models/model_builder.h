// The one builder of gridrun models: LibTorch modules from a resolved model
// file (modelspec/model_resolve.h). Every built-in model (modelspec/zoo/)
// and every user's file goes through it.
//
// Module layout (and so checkpoint parameter names): each network is a
// torch::nn::Sequential with one child per resolved layer, in order; a
// `functional: true` layer is a torch::nn::Functional child (no parameters,
// no layer-table row), and a Conv2d with Keras 'same' padding that needs an
// odd total padding gets a Functional pad child before it. A VAE's heads are
// its z_mean / z_logvar Linear modules; a classifier's last Linear is its
// output_projection.
//
// Thread-safety: draws initial weights from torch's default generator (the
// caller seeds it); call from one thread at a time.
#pragma once

#include "absl/status/statusor.h"
#include "models/model_factory.h"
#include "modelspec/model_resolve.h"

namespace gridrun::models {

// Builds the modules of `model` in the order its file lists the networks
// (initial weights are drawn in that order), then applies the file's init.
// INVALID_ARGUMENT / INTERNAL only for what resolution cannot see (a torch
// error while constructing). A TorchScript network (no layers) is loaded
// from `torchscript` by its hash and run once against its contract
// (models/torchscript_network.h); its weights are the file's, whatever the
// seed, and the file's init does not touch them. INVALID_ARGUMENT naming
// the file when its bytes are absent, it does not load or breaks the
// contract.
absl::StatusOr<ModelBundle> BuildResolvedModel(const modelspec::ResolvedModel& model,
                                               const TorchScriptFiles& torchscript = {});

}  // namespace gridrun::models
