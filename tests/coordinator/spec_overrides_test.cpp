// ApplySpecOverrides (the CLI's --set): what each override does to the spec
// that is then validated and stored, and the error for each kind of bad one.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "coordinator/grid_spec.h"
#include "tests/coordinator/alias_bombs.h"

namespace gridrun::coordinator {
namespace {
namespace spec_overrides_test {

constexpr char kSpec[] =
    "# a comment the rewrite drops\n"
    "experiment: sweep\n"
    "dataset: \"fashion-mnist\"\n"
    "model: vae-mlp\n"
    "epochs: 100\n"
    "optimizer: {name: adam, lr: 1.0e-3}\n"
    "samples: {epochs: [1, 50, 100], count: 12}\n"
    "grid:\n"
    "  latent_size: [2, 64]\n"
    "  kl_weight: [1.0, 0.5, 0.25]\n";

// Applies `sets` to kSpec and parses the result; fails the test on an error.
GridSpec Overridden(const std::vector<std::string>& sets) {
  auto text = ApplySpecOverrides(kSpec, sets);
  EXPECT_TRUE(text.ok()) << text.status();
  if (!text.ok()) return {};
  auto spec = ParseGridSpec(*text);
  EXPECT_TRUE(spec.ok()) << spec.status() << "\nin:\n" << *text;
  return spec.ok() ? *spec : GridSpec{};
}

std::string OverrideError(const std::vector<std::string>& sets, const std::string& yaml = kSpec) {
  auto text = ApplySpecOverrides(yaml, sets);
  EXPECT_FALSE(text.ok()) << *text;
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(text.status().message());
}

TEST(SpecOverridesTest, NoOverridesReturnTheTextUnchanged) {
  auto text = ApplySpecOverrides(kSpec, {});
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, kSpec);
}

TEST(SpecOverridesTest, ScalarsReplaceTopLevelAndNestedSettings) {
  const GridSpec spec = Overridden({"epochs=1", "train_size=512", "eval_samples=0",
                                    "samples.epochs=[1]", "optimizer.name=sgd",
                                    "experiment=sweep-smoke", "dataset=mnist"});
  EXPECT_EQ(spec.experiment, "sweep-smoke");
  EXPECT_EQ(spec.fixed.at("epochs"), SpecValue(int64_t{1}));
  EXPECT_EQ(spec.fixed.at("train_size"), SpecValue(int64_t{512}));
  EXPECT_EQ(spec.fixed.at("eval_samples"), SpecValue(int64_t{0}));
  EXPECT_EQ(spec.fixed.at("optimizer.name"), SpecValue(std::string("sgd")));
  EXPECT_EQ(spec.fixed.at("optimizer.lr"), SpecValue(1e-3));  // its sibling is kept
  EXPECT_EQ(spec.fixed.at("samples.count"), SpecValue(int64_t{12}));
  EXPECT_EQ(spec.fixed.at("dataset"), SpecValue(std::string("mnist")));
  EXPECT_EQ(spec.sample_epochs, std::vector<int>{1});
  EXPECT_EQ(spec.trial_count, 6);  // the grid is untouched
}

TEST(SpecOverridesTest, TheOverriddenValuesChangeTheStoredSpecAndItsHash) {
  auto text = ApplySpecOverrides(kSpec, {"epochs=1", "samples.epochs=[1]"});
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->rfind("# with --set epochs=1 samples.epochs=[1]\n", 0), 0u) << *text;
  EXPECT_EQ(text->find("a comment the rewrite drops"), std::string::npos);
  EXPECT_NE(ParseGridSpec(*text)->canonical_json, ParseGridSpec(kSpec)->canonical_json);
}

TEST(SpecOverridesTest, QuotedValuesStayStrings) {
  // `epochs: "5"` is refused (integers take integers only); rewriting the
  // spec for another override must not turn it into 5.
  auto text = ApplySpecOverrides("experiment: e\ndataset: mnist\nmodel: vae-mlp\nepochs: \"5\"\n",
                                 {"seed=1"});
  ASSERT_TRUE(text.ok());
  auto spec = ParseGridSpec(*text);
  ASSERT_FALSE(spec.ok()) << *text;
  EXPECT_NE(spec.status().message().find("epochs: not an integer (got \"5\""), std::string::npos)
      << spec.status();
  EXPECT_EQ(Overridden({"seed=1"}).fixed.at("dataset"), SpecValue(std::string("fashion-mnist")));
}

TEST(SpecOverridesTest, AScalarForASweptSettingFixesItAndDropsTheAxis) {
  const GridSpec spec = Overridden({"latent_size=2"});
  EXPECT_EQ(spec.fixed.at("latent_size"), SpecValue(int64_t{2}));
  ASSERT_EQ(spec.axes.size(), 1u);
  EXPECT_EQ(spec.axes[0].name, "kl_weight");
  EXPECT_EQ(spec.trial_count, 3);
}

TEST(SpecOverridesTest, AListReplacesAnAxisOrSweepsAFixedSetting) {
  const GridSpec spec = Overridden({"kl_weight=[1.0]", "epochs=[1, 2]", "samples.epochs=[1]"});
  ASSERT_EQ(spec.axes.size(), 3u);
  EXPECT_EQ(spec.axes[0].name, "latent_size");
  EXPECT_EQ(spec.axes[1].name, "kl_weight");
  EXPECT_EQ(spec.axes[1].values, std::vector<SpecValue>{SpecValue(1.0)});
  EXPECT_EQ(spec.axes[2].name, "epochs");
  EXPECT_EQ(spec.fixed.count("epochs"), 0u);
  EXPECT_EQ(spec.trial_count, 4);
}

TEST(SpecOverridesTest, LrAndOptimizerLrAreOneSetting) {
  EXPECT_EQ(Overridden({"lr=1e-4"}).fixed.at("optimizer.lr"), SpecValue(1e-4));
  // Swept as `lr`, then fixed as optimizer.lr: the axis goes.
  const GridSpec spec = Overridden({"lr=[1e-3, 1e-4]", "optimizer.lr=5e-4"});
  EXPECT_EQ(spec.fixed.at("optimizer.lr"), SpecValue(5e-4));
  EXPECT_EQ(spec.trial_count, 6);
}

TEST(SpecOverridesTest, LaterOverridesWinAndNullUnsets) {
  EXPECT_EQ(Overridden({"epochs=3", "samples.epochs=[1]", "epochs=2"}).fixed.at("epochs"),
            SpecValue(int64_t{2}));
  const GridSpec spec = Overridden({"epochs=", "samples.epochs=~", "kl_weight=null"});
  EXPECT_EQ(spec.fixed.count("epochs"), 0u);
  EXPECT_FALSE(spec.sample_epochs.has_value());
  EXPECT_EQ(spec.trial_count, 2);  // only latent_size is left
}

TEST(SpecOverridesTest, UnknownKeysAreNamedWithASuggestion) {
  const std::string error = OverrideError({"epoch=1"});
  EXPECT_EQ(error.rfind("--set epoch: unknown key, did you mean 'epochs'? (allowed: experiment, "
                        "dataset, model, epochs,",
                        0),
            0u)
      << error;
  EXPECT_NE(error.find("optimizer.lr, optimizer.betas"), std::string::npos) << error;
  EXPECT_EQ(OverrideError({"grid=1"}),
            "--set grid: not settable as a whole; to sweep a setting give it a list, e.g. "
            "--set kl_weight=[1, 0.5]");
  EXPECT_EQ(OverrideError({"optimizer=adam"}),
            "--set optimizer: a map; set one of its keys (allowed: optimizer.name, optimizer.lr, "
            "optimizer.betas, optimizer.momentum, optimizer.weight_decay)");
  EXPECT_EQ(OverrideError({"epochs"}), "--set epochs: not KEY=VALUE, e.g. epochs=1");
}

TEST(SpecOverridesTest, BadValuesGetTheParsersMessages) {
  struct Case {
    std::string set;
    std::string error;
  };
  const Case cases[] = {
      {"epochs=ten", "--set epochs: not an integer (got ten; allowed: 1..100000)"},
      {"epochs=0", "--set epochs: out of range (got 0; allowed: 1..100000)"},
      {"epochs=\"1\"", "--set epochs: not an integer (got \"1\"; allowed: 1..100000)"},
      {"lr=fast", "--set lr: not a number (got fast; allowed: > 0 and <= 10)"},
      {"kl_weight=[1, -1]", "--set kl_weight[1]: out of range (got -1; allowed: >= 0)"},
      {"kl_weight=[]", "--set kl_weight: empty list (allowed: a non-empty list of values)"},
      {"dataset=mnsit",
       "--set dataset: unknown data set, did you mean 'mnist'? (got mnsit; allowed: mnist, "
       "fashion-mnist, cifar10)"},
      {"samples.count=[1, 2]", "--set samples.count: not a single value (got [1, 2]; allowed: "
                               "1..1024)"},
      {"optimizer.betas=[0.5]", "--set optimizer.betas: not a list of two numbers (got [0.5]; "
                                "allowed: [beta1, beta2], each >= 0 and < 1)"},
      {"samples.epochs=[0]", "--set samples.epochs[0]: out of range (got 0; allowed: 1..100000)"},
      {"experiment=Big Name", "--set experiment: invalid name (got Big Name; allowed: a name "
                              "matching [a-z0-9][a-z0-9._-]{0,63})"},
      {"width={a: 1}", "--set width: not a single value (got {a: 1}; allowed: 1..65536)"},
      {"width=[", "--set width: invalid YAML value: end of sequence flow not found (got [)"},
  };
  for (const Case& c : cases) EXPECT_EQ(OverrideError({c.set}), c.error) << c.set;
}

TEST(SpecOverridesTest, EveryBadOverrideIsReportedAtOnce) {
  EXPECT_EQ(OverrideError({"epochs=0", "seed=-1"}),
            "--set epochs: out of range (got 0; allowed: 1..100000)\n"
            "--set seed: out of range (got -1; allowed: >= 0)");
}

TEST(SpecOverridesTest, ASpecThatIsNotAMapOrNotYamlIsRefused) {
  EXPECT_EQ(OverrideError({"epochs=1"}, "[1, 2]"), "spec: not a map, so --set cannot apply (got [1, 2])");
  EXPECT_EQ(OverrideError({"epochs=1"}, "a: [1\n").rfind("line ", 0), 0u);
  EXPECT_EQ(OverrideError({"optimizer.lr=1e-4"}, "experiment: e\noptimizer: adam\n"),
            "--set optimizer.lr: cannot apply: the spec's optimizer is not a map");
}

TEST(SpecOverridesTest, RulesBetweenSettingsAreLeftToTheParser) {
  // samples.epochs 50 and 100 are beyond epochs 1: the override itself is
  // fine; validating the result names the problem.
  auto text = ApplySpecOverrides(kSpec, {"epochs=1"});
  ASSERT_TRUE(text.ok());
  auto spec = ParseGridSpec(*text);
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("samples.epochs[1]: beyond epochs (got 50"),
            std::string::npos)
      << spec.status();
}

TEST(SpecOverridesTest, AliasBombsAreRefusedBeforeAnyWalk) {
  // The spec: re-emitting it would write out every alias.
  for (const std::string& yaml : {test_specs::AliasBombSpec(), test_specs::MergeKeyBombSpec()}) {
    EXPECT_EQ(OverrideError({"epochs=1"}, yaml), test_specs::TooManyNodesError(yaml));
  }
  // A value: ten lists, each ten aliases of the one before.
  std::string value = "[&a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]";
  for (int i = 1; i <= 9; ++i) {
    absl::StrAppend(&value, ", &a", i, " [");
    for (int j = 0; j < 10; ++j) absl::StrAppend(&value, j == 0 ? "" : ", ", "*a", i - 1);
    absl::StrAppend(&value, "]");
  }
  absl::StrAppend(&value, "]");
  EXPECT_EQ(OverrideError({"samples.epochs=" + value}),
            absl::StrCat("--set samples.epochs: expands to too many YAML nodes through anchors "
                         "and aliases (allowed: at most ",
                         8 * value.size() + 1024, " for a ", value.size(), "-byte value)"));
}

TEST(SpecOverridesTest, TooManyOverridesAreRefused) {
  const std::vector<std::string> sets(257, "epochs=1");
  EXPECT_EQ(OverrideError(sets), "--set: too many overrides (got 257; allowed: at most 256)");
  EXPECT_TRUE(ApplySpecOverrides(kSpec, std::vector<std::string>(256, "epochs=1")).ok());
}

}  // namespace spec_overrides_test
}  // namespace
}  // namespace gridrun::coordinator
