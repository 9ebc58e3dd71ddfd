#include "worker/fused_gradient_sync.h"

#include <chrono>

#include "common/status_macros.h"

namespace gridrun::worker {

FusedGradientSync::Fusion& FusedGradientSync::FusionFor(const std::vector<torch::Tensor>& params) {
  auto it = fusions_.find(&params);
  if (it != fusions_.end() && it->second.views.size() == params.size()) return it->second;
  Fusion fusion;
  int64_t total = 0;
  for (const auto& p : params) total += p.numel();
  fusion.buffer = torch::empty({total}, params.empty() ? torch::TensorOptions().dtype(torch::kFloat32)
                                                       : params[0].options());
  int64_t offset = 0;
  for (const auto& p : params) {
    fusion.views.push_back(fusion.buffer.narrow(0, offset, p.numel()).view(p.sizes()));
    offset += p.numel();
  }
  return fusions_[&params] = std::move(fusion);
}

void FusedGradientSync::AllReduceGradients(std::vector<torch::Tensor>& params) {
  if (comm_->size() == 1 || !status_.ok()) return;
  torch::NoGradGuard no_grad;
  Fusion& fusion = FusionFor(params);
  for (size_t i = 0; i < params.size(); ++i) fusion.views[i].copy_(params[i].grad());
  const auto start = std::chrono::steady_clock::now();
  status_ = comm_->AllReduceSum(fusion.buffer);
  allreduce_seconds_ +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!status_.ok()) return;
  fusion.buffer.div_(static_cast<double>(comm_->size()));
  for (size_t i = 0; i < params.size(); ++i) params[i].mutable_grad().copy_(fusion.views[i]);
}

int64_t FusedGradientSync::fused_elements() const {
  int64_t total = 0;
  for (const auto& [key, fusion] : fusions_) total += fusion.buffer.numel();
  return total;
}

absl::Status BroadcastModuleState(Communicator& comm, const std::vector<torch::Tensor>& tensors) {
  if (comm.size() == 1) return absl::OkStatus();
  torch::NoGradGuard no_grad;
  for (const torch::Tensor& t : tensors) {
    torch::Tensor target = t;
    if (!target.is_contiguous()) return absl::InternalError("BroadcastModuleState: non-contiguous");
    RETURN_IF_ERROR(comm.Broadcast(target, 0));
  }
  return absl::OkStatus();
}

}  // namespace gridrun::worker
