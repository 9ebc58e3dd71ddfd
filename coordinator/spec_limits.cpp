// The node-count limit of grid specs (coordinator/spec_limits.h).
#include "coordinator/spec_limits.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace gridrun::coordinator {

int64_t MaxSpecNodes(size_t bytes) {
  return kSpecNodesPerByte * static_cast<int64_t>(bytes) + kSpecNodesBase;
}

bool WithinNodeLimit(const YAML::Node& root, int64_t limit) {
  // Iterative, so deep nesting cannot overflow the stack.
  std::vector<YAML::Node> pending = {root};
  int64_t count = 0;
  while (!pending.empty()) {
    const YAML::Node node = pending.back();
    pending.pop_back();
    if (++count > limit) return false;
    if (node.IsMap()) {
      for (auto it = node.begin(); it != node.end(); ++it) {
        pending.push_back(it->first);
        pending.push_back(it->second);
      }
    } else if (node.IsSequence()) {
      for (auto it = node.begin(); it != node.end(); ++it) pending.push_back(*it);
    }
  }
  return true;
}

absl::Status CheckYamlNodeCount(const YAML::Node& root, int64_t limit, size_t bytes,
                                std::string_view what) {
  if (WithinNodeLimit(root, limit)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(std::string(what),
                   ": expands to too many YAML nodes through anchors and aliases (got more than ",
                   limit, "; allowed: at most ", limit, ", ", kSpecNodesPerByte, " per byte of a ",
                   bytes, "-byte text plus ", kSpecNodesBase, ")"));
}

absl::StatusOr<YAML::Node> LoadSpecYaml(std::string_view yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("line ", e.mark.line + 1, ", column ",
                                                   e.mark.column + 1, ": invalid YAML: ", e.msg));
  }
  RETURN_IF_ERROR(
      CheckYamlNodeCount(root, MaxSpecNodes(yaml_text.size()), yaml_text.size(), "spec"));
  return root;
}

}  // namespace gridrun::coordinator
