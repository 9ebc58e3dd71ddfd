// Unit tests (no network) of the CLI's display pieces: the watch display's
// lines, rate limit and in-place redraw; the shared formatting helpers of
// status; file-name sanitising and CSV escaping of export.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "cli/export_command.h"
#include "cli/status_command.h"
#include "cli/watch_command.h"

namespace gridrun::cli {
namespace {
namespace cli_display_test {

using ::testing::HasSubstr;
using ::testing::Not;

v1::TrialEvent Event(v1::TrialEvent::Kind kind, int64_t number, v1::TrialState state,
                     int64_t epoch = 0, int64_t step = 0, int64_t total = 0, double rate = 0) {
  v1::TrialEvent event;
  event.set_kind(kind);
  v1::Trial* trial = event.mutable_trial();
  trial->set_trial_id(number + 1);
  trial->set_number(number);
  trial->set_state(state);
  trial->set_attempt(state == v1::TRIAL_WAITING ? 0 : 1);
  (*trial->mutable_params())["latent_size"] = number % 2 ? "64" : "2";
  (*trial->mutable_params())["kl_weight"] = "0.5";
  trial->mutable_progress()->set_epoch(epoch);
  trial->mutable_progress()->set_step(step);
  trial->mutable_progress()->set_total_steps(total);
  trial->mutable_progress()->set_steps_per_second(rate);
  return event;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(CliWatchDisplayTest, TrialLineShowsProgressRateAndEta) {
  std::ostringstream out;
  WatchDisplay display(out, false, 1000, {"latent_size", "kl_weight"});
  v1::TrialEvent e = Event(v1::TrialEvent::PROGRESS, 3, v1::TRIAL_RUNNING, 2, 120, 1000, 10);
  EXPECT_EQ(display.TrialLine(e.trial()),
            "trial 3 (latent_size=64, kl_weight=0.5): RUNNING epoch 2, step 120/1000, "
            "10 steps/s, ETA 1m28s");
  e.mutable_trial()->set_state(v1::TRIAL_FAILED);
  e.mutable_trial()->set_error("out of memory");
  EXPECT_EQ(display.TrialLine(e.trial()),
            "trial 3 (latent_size=64, kl_weight=0.5): FAILED: out of memory");
  e.mutable_trial()->set_state(v1::TRIAL_COMPLETE);
  (*e.mutable_trial()->mutable_latest_metrics())["fid"] = 12.25;
  (*e.mutable_trial()->mutable_latest_metrics())["loss/total"] = 0.5;
  (*e.mutable_trial()->mutable_latest_metrics())["other"] = 9;
  e.mutable_trial()->set_reused_from(7);
  EXPECT_EQ(display.TrialLine(e.trial()),
            "trial 3 (latent_size=64, kl_weight=0.5): COMPLETE loss/total=0.5, fid=12.25 "
            "(reused trial 7)");
}

TEST(CliWatchDisplayTest, PlainModeRateLimitsProgressPerTrialButNeverStateChanges) {
  std::ostringstream out;
  WatchDisplay display(out, /*live=*/false, 1000, {"latent_size", "kl_weight"});
  display.OnEvent(Event(v1::TrialEvent::SNAPSHOT, 0, v1::TRIAL_RUNNING, 1, 10, 100, 5), 0);
  display.OnEvent(Event(v1::TrialEvent::SNAPSHOT, 1, v1::TRIAL_WAITING), 0);
  display.OnEvent(Event(v1::TrialEvent::PROGRESS, 0, v1::TRIAL_RUNNING, 1, 20, 100, 5), 100);
  display.OnEvent(Event(v1::TrialEvent::PROGRESS, 0, v1::TRIAL_RUNNING, 1, 30, 100, 5), 999);
  display.OnEvent(Event(v1::TrialEvent::STATE_CHANGE, 1, v1::TRIAL_RUNNING, 0, 0, 100, 0), 999);
  display.OnEvent(Event(v1::TrialEvent::PROGRESS, 0, v1::TRIAL_RUNNING, 1, 40, 100, 5), 1000);
  display.OnEvent(Event(v1::TrialEvent::STATE_CHANGE, 0, v1::TRIAL_COMPLETE, 1, 100, 100, 5), 1001);
  display.OnEvent(Event(v1::TrialEvent::PROGRESS, 1, v1::TRIAL_RUNNING, 1, 5, 100, 5), 1200);
  display.OnEvent(Event(v1::TrialEvent::PROGRESS, 1, v1::TRIAL_RUNNING, 1, 6, 100, 5), 2000);
  const std::vector<std::string> lines = Lines(out.str());
  ASSERT_EQ(lines.size(), 6u) << out.str();
  EXPECT_THAT(lines[0], HasSubstr("trial 0 (latent_size=2, kl_weight=0.5): RUNNING epoch 1, "
                                  "step 10/100"));
  EXPECT_EQ(lines[1], "trial 1 (latent_size=64, kl_weight=0.5): WAITING");
  EXPECT_THAT(lines[2], HasSubstr("trial 1 (latent_size=64, kl_weight=0.5): RUNNING epoch 0"));
  EXPECT_THAT(lines[3], HasSubstr("step 40/100"));  // a second after trial 0's last line
  EXPECT_THAT(lines[4], HasSubstr("trial 0 (latent_size=2, kl_weight=0.5): COMPLETE"));
  EXPECT_THAT(lines[5], HasSubstr("step 6/100"));  // step 5 came 201 ms after trial 1's line
  EXPECT_THAT(out.str(), Not(HasSubstr("\x1b[")));
}

TEST(CliWatchDisplayTest, LiveModeRedrawsABlockOfRunningTrialsInPlace) {
  std::ostringstream out;
  WatchDisplay display(out, /*live=*/true, 1000, {});
  display.OnEvent(Event(v1::TrialEvent::SNAPSHOT, 0, v1::TRIAL_RUNNING, 1, 10, 100, 5), 0);
  display.OnEvent(Event(v1::TrialEvent::SNAPSHOT, 1, v1::TRIAL_WAITING), 0);
  // First block: trial 0 + the totals line.
  EXPECT_THAT(out.str(), HasSubstr("1 RUNNING, 1 WAITING, 0 COMPLETE, 0 FAILED, 0 CANCELLED of 2"));
  const std::string before = out.str();
  display.OnEvent(Event(v1::TrialEvent::PROGRESS, 0, v1::TRIAL_RUNNING, 1, 20, 100, 5), 50);
  EXPECT_EQ(out.str(), before) << "redraws are rate-limited to one per 100 ms";
  display.OnEvent(Event(v1::TrialEvent::PROGRESS, 0, v1::TRIAL_RUNNING, 1, 30, 100, 5), 200);
  const std::string after = out.str().substr(before.size());
  EXPECT_TRUE(after.starts_with("\x1b[2F\x1b[J")) << "moves up over the 2-line block";
  EXPECT_THAT(after, HasSubstr("step 30/100"));
  // A finished trial is printed once above the block.
  display.OnEvent(Event(v1::TrialEvent::STATE_CHANGE, 0, v1::TRIAL_COMPLETE, 1, 100, 100, 5), 210);
  display.OnEvent(Event(v1::TrialEvent::STATE_CHANGE, 1, v1::TRIAL_CANCELLED), 220);
  display.Finish("demo");
  EXPECT_THAT(out.str(), HasSubstr("trial 0 (kl_weight=0.5, latent_size=2): COMPLETE\n"));
  EXPECT_TRUE(
      out.str().ends_with("\x1b[1F\x1b[Jexperiment demo: 1 COMPLETE, 0 FAILED, "
                          "1 CANCELLED\n"))
      << out.str();
  EXPECT_FALSE(display.AllComplete());
  EXPECT_EQ(display.CountInState(v1::TRIAL_CANCELLED), 1);
}

TEST(CliWatchDisplayTest, AllCompleteNeedsEveryTrialComplete) {
  std::ostringstream out;
  WatchDisplay display(out, false, 1000, {});
  EXPECT_FALSE(display.AllComplete());
  display.OnEvent(Event(v1::TrialEvent::SNAPSHOT, 0, v1::TRIAL_COMPLETE), 0);
  display.OnEvent(Event(v1::TrialEvent::SNAPSHOT, 1, v1::TRIAL_COMPLETE), 0);
  EXPECT_TRUE(display.AllComplete());
  display.Finish("x");
  EXPECT_THAT(out.str(), HasSubstr("experiment x: 2 COMPLETE, 0 FAILED, 0 CANCELLED\n"));
}

TEST(CliStatusHelpersTest, DurationsNumbersAndTimes) {
  EXPECT_EQ(ShortDuration(0), "0s");
  EXPECT_EQ(ShortDuration(45.4), "45s");
  EXPECT_EQ(ShortDuration(187), "3m07s");
  EXPECT_EQ(ShortDuration(7500), "2h05m");
  EXPECT_EQ(ShortDuration(3 * 86400 + 4 * 3600 + 59), "3d04h");
  EXPECT_EQ(ShortDuration(-1), "?");
  EXPECT_EQ(ShortNumber(0.000123456789), "0.000123457");
  EXPECT_EQ(ShortNumber(1.5e7), "1.5e+07");
  EXPECT_EQ(ExactNumber(0.1), "0.1");
  EXPECT_EQ(std::stod(ExactNumber(1.0 / 3)), 1.0 / 3);
  EXPECT_EQ(LocalTimeText(0), "");
  EXPECT_EQ(LocalTimeText(1'700'000'000'000).size(), 19u);
}

TEST(CliStatusHelpersTest, ParamsFollowTheSpecsAxisOrder) {
  const std::string spec =
      "experiment: x\ndataset: mnist\nmodel: vae-mlp\nepochs: 1\n"
      "grid:\n  latent_size: [2, 4]\n  kl_weight: [1.0, 0.5]\n";
  EXPECT_EQ(GridAxisNames(spec), (std::vector<std::string>{"latent_size", "kl_weight"}));
  EXPECT_EQ(OrderParamNames(spec, {"kl_weight", "latent_size", "extra"}),
            (std::vector<std::string>{"latent_size", "kl_weight", "extra"}));
  EXPECT_EQ(OrderParamNames("not: [valid", {"b", "a"}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ParamsText({{"kl_weight", "1"}, {"latent_size", "2"}, {"z", "q"}},
                       {"latent_size", "kl_weight"}),
            "latent_size=2, kl_weight=1, z=q");
}

TEST(CliStatusHelpersTest, ParamValuesAreTypedWhenTheyAreNumbers) {
  EXPECT_EQ(ParamQueryValue("64").type, SqlValue::Type::kInteger);
  EXPECT_EQ(ParamQueryValue("0.0002").type, SqlValue::Type::kReal);
  EXPECT_EQ(ParamQueryValue("1e-05").type, SqlValue::Type::kReal);
  EXPECT_EQ(ParamQueryValue("adam").type, SqlValue::Type::kText);
  EXPECT_EQ(ParamQueryValue("nan").type, SqlValue::Type::kText);
  EXPECT_EQ(ParamQueryValue("").type, SqlValue::Type::kText);
  EXPECT_EQ(ParamQueryValue("2x").type, SqlValue::Type::kText);
}

TEST(CliExportNamesTest, SanitizeFileNameKeepsEverythingInOneComponent) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"samples", "samples"},
      {"loss/d", "loss_d"},
      {"../../x", ".._.._x"},
      {"..", "_"},
      {".", "_"},
      {"", "_"},
      {"/etc/passwd", "_etc_passwd"},
      {"a b\\c\nd", "a_b_c_d"},
      {"ok-name_1.2", "ok-name_1.2"},
      {"caf\xc3\xa9", "caf__"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(SanitizeFileName(c.in), c.out) << c.in;
    EXPECT_EQ(SanitizeFileName(c.in).find('/'), std::string::npos);
  }
}

TEST(CliExportNamesTest, CsvEscapeQuotesOnlyWhenNeeded) {
  EXPECT_EQ(CsvEscape("loss/total"), "loss/total");
  EXPECT_EQ(CsvEscape("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvEscape("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvEscape("two\nlines"), "\"two\nlines\"");
}

}  // namespace cli_display_test
}  // namespace
}  // namespace gridrun::cli
