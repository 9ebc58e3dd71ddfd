#include <torch/torch.h>
namespace gridrun { int64_t ProbeTorch() { return torch::ones({2}).sum().item<int64_t>(); } }
