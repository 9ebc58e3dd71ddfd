// The web app's files (ui/web/: HTML, CSS, JS and the pinned uPlot from
// ui/web/node_modules), compiled into the binary by cmake/EmbedFiles.cmake so
// that neither `gridrun ui` nor a report loads anything from the network.
//
// Thread-safety: constant data.
#pragma once

#include <string_view>
#include <vector>

namespace gridrun::ui {

struct EmbeddedAsset {
  std::string_view name;  // "app.css", "uPlot.iife.min.js", ...
  std::string_view content;
};

// Every embedded file, in the order the build listed them.
const std::vector<EmbeddedAsset>& EmbeddedAssets();

// The file called `name`; an empty view when there is none.
std::string_view FindAsset(std::string_view name);

// The app's scripts in the order the page loads them, and its style sheets.
const std::vector<std::string_view>& AppScripts();
const std::vector<std::string_view>& AppStyles();

// "text/javascript; charset=utf-8", ... by file extension.
std::string_view ContentTypeOf(std::string_view name);

}  // namespace gridrun::ui
