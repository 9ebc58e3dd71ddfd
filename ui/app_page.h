// The one HTML page of the web app, in its two forms: served by `gridrun ui`
// (the scripts and styles as /assets/ URLs, data from the JSON API), and
// written by `gridrun report` (everything inline plus the data snapshot, one
// file that opens offline). Both come from ui/web/index.html, whose two
// marker comments <!--GRIDRUN:STYLES--> and <!--GRIDRUN:SCRIPTS--> are
// replaced.
//
// Thread-safety: pure functions over the embedded assets.
#pragma once

#include <string>

namespace gridrun::ui {

// The page that loads the app from the server's /assets/.
std::string ServedAppPage();

// The self-contained page: styles and scripts inline, then
// `window.GRIDRUN_SNAPSHOT = <snapshot_json>` (any '<' in it written as
// \u003c, so no data can close the script element), and a Content Security
// Policy that forbids every network load.
std::string InlineAppPage(const std::string& snapshot_json);

}  // namespace gridrun::ui
