// Lookups over the generated table of embedded files (embedded_assets_data.cpp).
#include "ui/embedded_assets.h"

namespace gridrun::ui {

std::string_view FindAsset(std::string_view name) {
  for (const EmbeddedAsset& asset : EmbeddedAssets()) {
    if (asset.name == name) return asset.content;
  }
  return {};
}

const std::vector<std::string_view>& AppScripts() {
  // uPlot first: the app's charts use it; gr_main.js last: it starts the app.
  static const std::vector<std::string_view> kScripts = {
      "uPlot.iife.min.js", "gr_data.js", "gr_charts.js", "gr_views.js", "gr_main.js"};
  return kScripts;
}

const std::vector<std::string_view>& AppStyles() {
  static const std::vector<std::string_view> kStyles = {"uPlot.min.css", "app.css"};
  return kStyles;
}

std::string_view ContentTypeOf(std::string_view name) {
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".png")) return "image/png";
  return "text/plain; charset=utf-8";
}

}  // namespace gridrun::ui
