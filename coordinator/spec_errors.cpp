// Error reporting for grid specs: ErrorList, DescribeNode and the "did you
// mean" suggestion (coordinator/spec_errors.h).
#include "coordinator/spec_errors.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gridrun::coordinator {
namespace {

constexpr size_t kMaxShownChars = 60;

// Makes `node` and everything under it print on one line. Visits every
// path through aliases; LoadSpecYaml's node limit bounds that.
void SetFlowStyle(YAML::Node node) {
  if (!node.IsSequence() && !node.IsMap()) return;
  node.SetStyle(YAML::EmitterStyle::Flow);
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (node.IsMap()) {
      SetFlowStyle(it->second);
    } else {
      SetFlowStyle(*it);
    }
  }
}

}  // namespace

int LineOf(const YAML::Node& node, int fallback) {
  const int line = node.Mark().line;
  return line < 0 ? fallback : line + 1;
}

bool IsQuoted(const YAML::Node& node) {
  return node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str";
}

std::string TruncateForMessage(std::string text) {
  if (text.size() > kMaxShownChars) text = text.substr(0, kMaxShownChars - 3) + "...";
  return text;
}

std::string DescribeNode(const YAML::Node& node) {
  std::string text;
  if (!node.IsDefined() || node.IsNull()) {
    text = "null";
  } else if (node.IsScalar()) {
    text = IsQuoted(node) ? absl::StrCat("\"", node.Scalar(), "\"") : node.Scalar();
  } else {
    // The copy keeps the file's sharing: the emitter writes a repeated node
    // once, with an anchor, and its repeats as aliases (&1 ..., *1).
    YAML::Node copy = YAML::Clone(node);
    SetFlowStyle(copy);
    YAML::Emitter emitter;
    emitter << copy;
    text = emitter.c_str();
  }
  return TruncateForMessage(std::move(text));
}

std::string KeyName(const YAML::Node& key) {
  return key.IsScalar() ? TruncateForMessage(key.Scalar()) : DescribeNode(key);
}

void ErrorList::Add(int line, const std::string& path, const std::string& problem,
                    const std::string& got, const std::string& allowed) {
  std::string text = with_lines_ ? absl::StrCat("line ", line, ": ", path, ": ", problem)
                                 : absl::StrCat(path, ": ", problem);
  if (!got.empty() || !allowed.empty()) {
    absl::StrAppend(&text, " (");
    if (!got.empty()) absl::StrAppend(&text, "got ", got);
    if (!got.empty() && !allowed.empty()) absl::StrAppend(&text, "; ");
    if (!allowed.empty()) absl::StrAppend(&text, "allowed: ", allowed);
    absl::StrAppend(&text, ")");
  }
  if (seen_.contains(text)) return;
  if (errors_.size() >= kMaxErrors) {
    dropped_ = true;
    return;
  }
  seen_.insert(text);
  errors_.push_back({line, std::move(text)});
}

std::string ErrorList::Message() {
  std::stable_sort(errors_.begin(), errors_.end(),
                   [](const Error& a, const Error& b) { return a.line < b.line; });
  std::vector<std::string> lines;
  for (const Error& e : errors_) lines.push_back(e.text);
  if (dropped_) {
    lines.push_back(absl::StrCat("... more problems not listed (at most ", kMaxErrors, " are)"));
  }
  return absl::StrJoin(lines, "\n");
}

}  // namespace gridrun::coordinator
