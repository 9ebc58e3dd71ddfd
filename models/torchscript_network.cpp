#include "models/torchscript_network.h"

#include <algorithm>
#include <memory>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gridrun::models {
namespace {

// Registers `source`'s own parameters and buffers on `target` (the same
// tensors), then mirrors each child module under its name.
void Mirror(const torch::jit::Module& source, torch::nn::Module& target) {
  for (const auto& p : source.named_parameters(/*recurse=*/false)) {
    target.register_parameter(p.name, p.value, /*requires_grad=*/true);
  }
  for (const auto& b : source.named_buffers(/*recurse=*/false)) {
    target.register_buffer(b.name, b.value);
  }
  for (const auto& child : source.named_children()) {
    auto mirror = std::make_shared<torch::nn::Module>(child.name);
    Mirror(child.value, *mirror);
    target.register_module(child.name, mirror);
  }
}

std::string InputsText(const TorchScriptContract& c) {
  const std::string image =
      absl::StrCat("[2, ", c.image.channels, ", ", c.image.height, ", ", c.image.width, "]");
  const std::string one_hot =
      c.num_classes > 0 ? absl::StrCat(", one_hot [2, ", c.num_classes, "]") : "";
  if (c.role == "generator") return absl::StrCat("z [2, ", c.latent_size, "]", one_hot);
  if (c.role == "critic") return absl::StrCat("image ", image, one_hot);
  if (c.role == "decoder") return absl::StrCat("z [2, ", c.latent_size, "]");
  return absl::StrCat("image ", image);
}

}  // namespace

std::string ShapeText(const torch::Tensor& t) {
  std::vector<int64_t> dims(t.sizes().begin(), t.sizes().end());
  return absl::StrCat("[", absl::StrJoin(dims, ", "), "]");
}

TorchScriptNetImpl::TorchScriptNetImpl(torch::jit::Module module, std::string name)
    : module_(std::move(module)), name_(std::move(name)) {
  Mirror(module_, *this);
}

torch::IValue TorchScriptNetImpl::Call(std::vector<torch::IValue> inputs) {
  return module_.forward(std::move(inputs));
}

torch::Tensor TorchScriptNetImpl::CallTensor(std::vector<torch::IValue> inputs) {
  torch::IValue out = Call(std::move(inputs));
  TORCH_CHECK(out.isTensor(), name_, ": forward must return one tensor, returned ", out.tagKind());
  return out.toTensor();
}

void TorchScriptNetImpl::train(bool on) {
  torch::nn::Module::train(on);
  module_.train(on);
}

absl::StatusOr<TorchScriptNet> LoadTorchScript(const std::string& bytes, const std::string& name) {
  try {
    std::istringstream in(bytes);
    torch::jit::Module module = torch::jit::load(in, torch::Device(torch::kCPU));
    if (module.find_method("forward") == c10::nullopt) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": the TorchScript module has no forward method"));
    }
    return TorchScriptNet(std::move(module), name);
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": not a TorchScript module (save one with torch.jit.save): ", what));
  }
}

absl::Status CheckTorchScriptContract(TorchScriptNet& net, const TorchScriptContract& c) {
  const bool was_training = net->is_training();
  net->train(false);
  torch::NoGradGuard no_grad;
  const std::string where = absl::StrCat(net->file_name(), ": ", c.role, " (", InputsText(c), ")");
  const ImageShape& im = c.image;
  const std::string image_text =
      absl::StrCat("[2, ", im.channels, ", ", im.height, ", ", im.width, "]");
  absl::Status status;
  try {
    const auto options = torch::TensorOptions().dtype(torch::kFloat32);
    const torch::Tensor z = torch::randn({2, c.latent_size}, options);
    const torch::Tensor images =
        torch::rand({2, im.channels, im.height, im.width}, options) * 2 - 1;
    const torch::Tensor labels =
        torch::tensor({0, 1}, torch::kLong) % std::max<int64_t>(c.num_classes, 1);
    const torch::Tensor one_hot = c.num_classes > 0
                                      ? torch::one_hot(labels, c.num_classes).to(torch::kFloat32)
                                      : torch::Tensor();
    auto with_labels = [&](const torch::Tensor& first) {
      std::vector<torch::IValue> in = {first};
      if (c.num_classes > 0) in.push_back(one_hot);
      return in;
    };
    auto is_tensor = [&](const torch::IValue& v, const std::string& expected) {
      if (v.isTensor()) return absl::OkStatus();
      return absl::InvalidArgumentError(
          absl::StrCat(where, " must return ", expected, ", returned a ", v.tagKind()));
    };
    if (c.role == "generator" || c.role == "decoder") {
      const torch::IValue out =
          net->Call(c.role == "generator" ? with_labels(z) : std::vector<torch::IValue>{z});
      const std::string expected = absl::StrCat("an image batch ", image_text);
      status = is_tensor(out, expected);
      if (status.ok() &&
          out.toTensor().sizes() != torch::IntArrayRef({2, im.channels, im.height, im.width})) {
        status = absl::InvalidArgumentError(absl::StrCat(where, " must return ", expected,
                                                         ", returned ", ShapeText(out.toTensor())));
      }
    } else if (c.role == "critic") {
      const torch::IValue out = net->Call(with_labels(images));
      const std::string expected = "one score per image ([2] or [2, 1])";
      status = is_tensor(out, expected);
      if (status.ok()) {
        const torch::Tensor t = out.toTensor();
        const bool ok =
            (t.dim() == 1 && t.size(0) == 2) || (t.dim() == 2 && t.size(0) == 2 && t.size(1) == 1);
        if (!ok) {
          status = absl::InvalidArgumentError(
              absl::StrCat(where, " must return ", expected, ", returned ", ShapeText(t)));
        }
      }
    } else if (c.role == "encoder") {
      const torch::IValue out = net->Call({images});
      const std::string latent = absl::StrCat("[2, ", c.latent_size, "]");
      const std::string expected = absl::StrCat("a tuple (mu ", latent, ", logvar ", latent, ")");
      bool ok = out.isTuple() && out.toTupleRef().elements().size() == 2;
      std::string got = out.tagKind();
      if (ok) {
        const auto& e = out.toTupleRef().elements();
        ok = e[0].isTensor() && e[1].isTensor();
        if (ok) {
          got =
              absl::StrCat("(", ShapeText(e[0].toTensor()), ", ", ShapeText(e[1].toTensor()), ")");
          for (const auto& v : e) {
            ok = ok && v.toTensor().sizes() == torch::IntArrayRef({2, c.latent_size});
          }
        }
      }
      if (!ok) {
        status = absl::InvalidArgumentError(
            absl::StrCat(where, " must return ", expected, ", returned ", got));
      }
    } else {
      status = absl::InvalidArgumentError(
          absl::StrCat(net->file_name(), ": a TorchScript network cannot be a ", c.role));
    }
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (what.size() > 2000) what.resize(2000);
    status = absl::InvalidArgumentError(absl::StrCat(where, " does not run: ", what));
  }
  net->train(was_training);
  return status;
}

absl::Status SaveTorchScript(TorchScriptNetImpl& net, const std::string& path) {
  try {
    net.module().save(path);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(net.file_name(), ": saving to ", path, ": ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace gridrun::models
