// SpecParser, `init_from` (common/init_from.h): the warm-start source of
// every trial, as a map {trial, network, into, layers}. Checked here for
// keys and types; the coordinator checks the source trial itself at submit
// (coordinator/init_from_resolve.h), where the database is.
#include <algorithm>

#include "absl/strings/str_join.h"
#include "common/init_from.h"
#include "common/trial_fields.h"
#include "coordinator/spec_parser.h"
#include "coordinator/spec_values.h"

namespace gridrun::coordinator {

void SpecParser::ParseInitFrom(const YAML::Node& node, int line) {
  const TrialField* field = FindTrialField("init_from");
  if (field == nullptr || !Claim(field->key, "init_from", line, /*in_grid=*/false)) return;
  if (node.IsNull()) return;  // `init_from:` or `init_from: ~`: none
  auto keys = ReadSection(node, "init_from", line, {"trial", "network", "into", "layers"}, errors_);
  if (!node.IsMap()) return;
  InitFrom init;
  bool ok = true;
  if (auto it = keys.find("trial"); it == keys.end()) {
    errors_.Add(line, "init_from.trial", "missing", "", "the id of a COMPLETE trial (>= 1)");
    ok = false;
  } else if (auto v = ParseScalar(NumberField(FieldKind::kInt, IntRange(1)), it->second.node,
                                  "init_from.trial", it->second.line, errors_)) {
    init.trial = std::get<int64_t>(*v);
  } else {
    ok = false;
  }
  const std::vector<std::string>& names = InitFromNetworkNames();
  for (const char* key : {"network", "into"}) {
    auto it = keys.find(key);
    if (it == keys.end()) continue;
    const std::string path = std::string("init_from.") + key;
    const std::string value = it->second.node.IsScalar() ? it->second.node.Scalar() : "";
    if (std::find(names.begin(), names.end(), value) == names.end()) {
      errors_.Add(it->second.line, path, "unknown network", DescribeNode(it->second.node),
                  absl::StrJoin(names, ", "));
      ok = false;
      continue;
    }
    (std::string(key) == "network" ? init.network : init.into) = value;
  }
  if (auto it = keys.find("layers"); it != keys.end()) {
    if (auto v = ParseScalar(NumberField(FieldKind::kInt, IntRange(1, 10000)), it->second.node,
                             "init_from.layers", it->second.line, errors_)) {
      init.layers = std::get<int64_t>(*v);
    } else {
      ok = false;
    }
  }
  if (init.network.empty() && (!init.into.empty() || init.layers != 0)) {
    errors_.Add(line, "init_from.network", "missing",
                init.into.empty() ? "layers without a network" : "into without a network",
                "the source network to copy: " + absl::StrJoin(names, ", "));
    ok = false;
  }
  if (ok) fixed_.emplace(std::string(field->key), Choice{InitFromToJson(init), "init_from", line});
}

}  // namespace gridrun::coordinator
