// The texts of modelspec/zoo/*.yaml, embedded at build time by
// modelspec/CMakeLists.txt (generated zoo_files.cpp). Used by zoo.cpp only.
#pragma once

#include <vector>

namespace gridrun::modelspec {

struct EmbeddedZooFile {
  const char* name;  // file name without .yaml
  const char* text;
};

const std::vector<EmbeddedZooFile>& EmbeddedZooFiles();

}  // namespace gridrun::modelspec
