// Fills the page template's markers with asset links or inline contents.
#include "ui/app_page.h"

#include "ui/embedded_assets.h"

namespace gridrun::ui {
namespace {

constexpr std::string_view kStylesMarker = "<!--GRIDRUN:STYLES-->";
constexpr std::string_view kScriptsMarker = "<!--GRIDRUN:SCRIPTS-->";
constexpr std::string_view kHeadMarker = "<!--GRIDRUN:HEAD-->";

// Replaces every `from` in `text` with `to`.
std::string ReplaceAll(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  size_t at = 0;
  for (size_t hit = text.find(from); hit != std::string_view::npos; hit = text.find(from, at)) {
    out.append(text.substr(at, hit - at)).append(to);
    at = hit + from.size();
  }
  out.append(text.substr(at));
  return out;
}

std::string FillTemplate(const std::string& head, const std::string& styles,
                         const std::string& scripts) {
  std::string page = ReplaceAll(FindAsset("index.html"), kHeadMarker, head);
  page = ReplaceAll(page, kStylesMarker, styles);
  return ReplaceAll(page, kScriptsMarker, scripts);
}

}  // namespace

std::string ServedAppPage() {
  std::string styles, scripts;
  for (std::string_view name : AppStyles()) {
    styles.append("<link rel=\"stylesheet\" href=\"/assets/").append(name).append("\">\n");
  }
  for (std::string_view name : AppScripts()) {
    scripts.append("<script src=\"/assets/").append(name).append("\"></script>\n");
  }
  return FillTemplate("", styles, scripts);
}

std::string InlineAppPage(const std::string& snapshot_json) {
  std::string styles, scripts;
  for (std::string_view name : AppStyles()) {
    styles.append("<style>\n").append(FindAsset(name)).append("\n</style>\n");
  }
  scripts.append("<script>window.GRIDRUN_SNAPSHOT = ")
      .append(ReplaceAll(snapshot_json, "<", "\\u003c"))
      .append(";</script>\n");
  for (std::string_view name : AppScripts()) {
    // Inline script text must not contain "</script" (it would end the
    // element); the minified uPlot and the app's files do not, but the check
    // is cheap.
    scripts.append("<script>\n")
        .append(ReplaceAll(FindAsset(name), "</script", "<\\/script"))
        .append("\n</script>\n");
  }
  const std::string csp =
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">";
  // The report carries uPlot, so it carries uPlot's licence too.
  const std::string licence =
      "<!-- uPlot (charts) is distributed under this licence:\n" +
      ReplaceAll(FindAsset("uPlot-LICENSE.txt"), "--", "- -") + "-->\n";
  return FillTemplate(csp, styles, licence + scripts);
}

}  // namespace gridrun::ui
