// Bounded work for grid specs (internal to the spec parser: grid_spec.cpp,
// spec_overrides.cpp). YAML anchors, aliases and merge keys let a text of a
// few hundred bytes stand for a tree of billions of nodes (the "billion
// laughs" class): yaml-cpp loads such a text cheaply, as a graph that shares
// the aliased nodes, but any walk over it (validating, showing a value,
// re-emitting the spec after --set) visits every repeat. LoadSpecYaml loads
// a spec and refuses one whose tree, aliases expanded, has more nodes than
// a limit proportional to its size, so every later walk is bounded by the
// input size; the grid's trial count is bounded by GridLimits::max_trials.
//
// Thread-safety: pure functions.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gridrun::coordinator {

// Nodes a YAML text of `bytes` bytes may expand to: kSpecNodesPerByte per
// byte plus kSpecNodesBase. A text without aliases has at most about two
// nodes per byte (a key and an empty value), so only repetition by alias
// comes near it.
inline constexpr int64_t kSpecNodesPerByte = 8;
inline constexpr int64_t kSpecNodesBase = 1024;
int64_t MaxSpecNodes(size_t bytes);

// True if `root`, walked with every alias expanded, has at most `limit`
// nodes. Stops counting at the limit: costs at most `limit` steps.
bool WithinNodeLimit(const YAML::Node& root, int64_t limit);

// OK if `root`, walked with every alias expanded, has at most `limit` nodes
// (keys, values, list elements); otherwise INVALID_ARGUMENT
//   WHAT: expands to too many YAML nodes through anchors and aliases (got
//   more than N; allowed: at most N, 8 per byte of a B-byte text plus 1024)
absl::Status CheckYamlNodeCount(const YAML::Node& root, int64_t limit, size_t bytes,
                                std::string_view what);

// Loads a spec's YAML: a syntax error is INVALID_ARGUMENT
//   line L, column C: invalid YAML: <parser message>
// and a tree beyond MaxSpecNodes(yaml_text.size()) the error above, for
// "spec".
absl::StatusOr<YAML::Node> LoadSpecYaml(std::string_view yaml_text);

}  // namespace gridrun::coordinator
