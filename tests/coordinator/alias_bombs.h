// Grid specs of a few hundred bytes whose YAML anchors, aliases and merge
// keys expand to billions of nodes (the "billion laughs" class), shared by
// the spec parser, --set, `gridrun validate` and SubmitGrid tests: each
// must be refused quickly, naming the node limit (coordinator/spec_limits.h).
#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace gridrun::test_specs {

// Ten lists a..j, each ten aliases of the one before: 10^10 scalars under
// a grid axis, from about 500 bytes.
inline std::string AliasBombSpec() {
  std::string yaml =
      "experiment: e1\ndataset: mnist\nmodel: vae-mlp\na: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char level = 'b'; level <= 'j'; ++level) {
    const std::string name(1, level), before(1, static_cast<char>(level - 1));
    absl::StrAppend(&yaml, name, ": &", name, " [");
    for (int j = 0; j < 10; ++j) absl::StrAppend(&yaml, j == 0 ? "" : ", ", "*", before);
    absl::StrAppend(&yaml, "]\n");
  }
  absl::StrAppend(&yaml, "grid:\n  latent_size: *j\n");
  return yaml;
}

// The same growth through maps and merge keys (<<): each of the maps a..l
// merges the one before and holds it under five more keys (6^12 nodes).
inline std::string MergeKeyBombSpec() {
  std::string yaml =
      "experiment: e1\ndataset: mnist\nmodel: vae-mlp\na: &a {k: 1, l: 1, m: 1, n: 1, o: 1}\n";
  for (char level = 'b'; level <= 'l'; ++level) {
    const std::string name(1, level), before(1, static_cast<char>(level - 1));
    absl::StrAppend(&yaml, name, ": &", name, " {<<: *", before);
    for (char key = 'k'; key <= 'o'; ++key)
      absl::StrAppend(&yaml, ", ", std::string(1, key), ": *", before);
    absl::StrAppend(&yaml, "}\n");
  }
  absl::StrAppend(&yaml, "optimizer: *l\n");
  return yaml;
}

// The message refusing `yaml` (ParseGridSpec, SubmitGrid, validate).
inline std::string TooManyNodesError(const std::string& yaml) {
  const int64_t limit = 8 * static_cast<int64_t>(yaml.size()) + 1024;
  return absl::StrCat(
      "spec: expands to too many YAML nodes through anchors and aliases (got more than ", limit,
      "; allowed: at most ", limit, ", 8 per byte of a ", yaml.size(), "-byte text plus 1024)");
}

}  // namespace gridrun::test_specs
