// The report as the app's snapshot (ui/snapshot.h, ui/app_page.h): one
// self-contained page (no URL loads, a CSP that forbids the network), the
// app's scripts and uPlot inline, the data inlined where no name can close
// the script element, and the served page linking the same assets.
#include "ui/snapshot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "tests/ui/ui_test_db.h"
#include "ui/app_page.h"
#include "ui/embedded_assets.h"

namespace gridrun::ui {
namespace {
namespace snapshot_test {

using ::testing::HasSubstr;
using ::testing::Not;

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(UiSnapshotTest, SnapshotHoldsEveryViewsData) {
  testing::UiTestDb db;
  auto reader = coordinator::ResultsReader::Open(db.path());
  ASSERT_TRUE(reader.ok()) << reader.status();
  SnapshotOptions options;
  options.heatmap_metric = "fid";
  options.x_axis = "latent_size";
  options.y_axis = "kl_weight";
  options.curve_points = 100;
  auto json = SnapshotJson(**reader, "grid", options);
  ASSERT_TRUE(json.ok()) << json.status();
  const nlohmann::json s = nlohmann::json::parse(*json);
  EXPECT_EQ(s["experiment"], "exp-1");
  EXPECT_EQ(s["rows"].size(), 4u);
  EXPECT_EQ(s["details"].size(), 4u);
  EXPECT_LE(s["curves"]["2"]["long"]["step"].size(), 100u);
  EXPECT_EQ(s["curves"]["2"]["long"]["total_points"], 10000);
  EXPECT_EQ(s["samples"]["0\tsamples\t20"], absl::Base64Escape(std::string("\x89PNG\x02", 5)));
  EXPECT_EQ(s["heatmaps"]["fid\tlatent_size\tkl_weight"]["cells"].size(), 4u);
  EXPECT_EQ(s["heatmaps"]["fid\tkl_weight\tlatent_size"]["cells"].size(), 4u);
  EXPECT_EQ(s["heatmap_default"]["metric"], "fid");
  EXPECT_FALSE(SnapshotJson(**reader, "nope", options).ok());
}

TEST(UiSnapshotTest, PageIsSelfContainedAndDataCannotCloseTheScript) {
  testing::UiTestDb db;
  db.writer().exec(
      "INSERT INTO metrics (trial_id, name, step, value) VALUES "
      "(1, '</script><script>alert(2)</script>', 3, 1)");
  auto reader = coordinator::ResultsReader::Open(db.path());
  ASSERT_TRUE(reader.ok());
  auto page = SnapshotPage(**reader, "grid", {});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(*page, HasSubstr("Content-Security-Policy"));
  EXPECT_THAT(*page, HasSubstr("default-src 'none'"));
  EXPECT_THAT(*page, HasSubstr("window.GRIDRUN_SNAPSHOT = "));
  EXPECT_THAT(*page, HasSubstr("\\u003c/script>\\u003cscript>alert(2)"));
  EXPECT_THAT(*page, Not(HasSubstr("<script>alert(2)")));
  EXPECT_THAT(*page, Not(HasSubstr("<script src=")));
  EXPECT_THAT(*page, Not(HasSubstr("<link rel=\"stylesheet\"")));
  EXPECT_THAT(*page, Not(HasSubstr("<!--GRIDRUN:")));
  // The snapshot and one inline script per app file.
  EXPECT_EQ(Count(*page, "<script>"), AppScripts().size() + 1);
  EXPECT_THAT(*page, HasSubstr(std::string(FindAsset("gr_main.js")).substr(0, 200)));
  EXPECT_THAT(*page, HasSubstr("Copyright (c) 2022 Leon Sorokin"));  // uPlot's licence
}

TEST(UiSnapshotTest, ServedPageLinksTheEmbeddedAssets) {
  const std::string page = ServedAppPage();
  for (std::string_view name : AppScripts()) {
    EXPECT_THAT(page, HasSubstr("<script src=\"/assets/" + std::string(name) + "\">"));
    EXPECT_FALSE(FindAsset(name).empty()) << name;
  }
  for (std::string_view name : AppStyles()) {
    EXPECT_THAT(page, HasSubstr("href=\"/assets/" + std::string(name) + "\""));
  }
  EXPECT_THAT(page, Not(HasSubstr("window.GRIDRUN_SNAPSHOT")));
  EXPECT_THAT(std::string(FindAsset("uPlot-LICENSE.txt")), HasSubstr("MIT License"));
  EXPECT_TRUE(FindAsset("missing.js").empty());
  EXPECT_EQ(ContentTypeOf("a.js"), "text/javascript; charset=utf-8");
}

}  // namespace snapshot_test
}  // namespace
}  // namespace gridrun::ui
