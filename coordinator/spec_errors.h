// Error reporting for grid specs and --set overrides (internal to the spec
// parser: coordinator/grid_spec.cpp, spec_rules.cpp, spec_overrides.cpp):
// the list of problems with its "line L: PATH: problem (got ...; allowed:
// ...)" wording, how a YAML node is shown after "got", and the "did you
// mean" suggestion for a misspelt key or value.
//
// Every text taken from the spec is cut at 60 characters, so a hostile spec
// (long scalars, big collections) cannot make long errors. Showing a node
// walks it with its aliases expanded: callers show only nodes of a tree that
// passed the node limit of coordinator/spec_limits.h, which bounds that work. Thread-safety:
// ErrorList is a plain, single-threaded value; the free functions are pure.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/suggest.h"

namespace gridrun::coordinator {

// 1-based line of a node; `fallback` when the node has no position (null).
int LineOf(const YAML::Node& node, int fallback);

// True if the scalar was quoted in the file (or tagged !!str): a string,
// never a number.
bool IsQuoted(const YAML::Node& node);

// `text` cut to 60 characters ("..." replacing the end).
std::string TruncateForMessage(std::string text);

// How a node is shown after "got": the scalar as written (quoted if it was),
// collections in YAML flow style ("[1, 2]", "{a: 1}"; a node the file
// repeats through an alias as "&1 [...]" and then "*1"), null as "null", cut
// at 60 characters. Costs the size of `node` with its aliases expanded.
std::string DescribeNode(const YAML::Node& node);

// The text of a map key (cut at 60 characters); keys that are not scalars
// are shown as DescribeNode shows them.
std::string KeyName(const YAML::Node& key);

// The problems found in one spec (or one set of overrides).
class ErrorList {
 public:
  // `with_lines` false: messages start at PATH (for --set overrides, which
  // have no line in the file).
  explicit ErrorList(bool with_lines = true) : with_lines_(with_lines) {}

  // Adds "line L: PATH: PROBLEM (got GOT; allowed: ALLOWED)"; empty parts and
  // repeats of an identical message are left out. After kMaxErrors distinct
  // messages, further ones are not kept (see truncated()).
  void Add(int line, const std::string& path, const std::string& problem,
           const std::string& got = "", const std::string& allowed = "");

  bool empty() const { return errors_.empty(); }
  // True once a new message came after kMaxErrors were kept: loops that
  // report one problem per combination of values may stop.
  bool truncated() const { return dropped_; }

  // The messages sorted by line (stable), one per line; when some were not
  // kept, a last line "... more problems not listed (at most 200 are)".
  std::string Message();

  static constexpr size_t kMaxErrors = 200;

 private:
  struct Error {
    int line;
    std::string text;
  };

  bool with_lines_;
  std::vector<Error> errors_;
  std::set<std::string> seen_;
  bool dropped_ = false;  // a new message came when full
};

}  // namespace gridrun::coordinator
