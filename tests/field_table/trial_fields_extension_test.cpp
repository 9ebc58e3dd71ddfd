// Proves that the trial field table drives every user of the settings: this
// binary compiles common/ and the spec parser and expander with one extra
// line in common/trial_fields.inc (extra_trial_field.inc: `dropout`, a real
// in [0, 1) that may be a grid axis) and nothing else, and the new setting
// is then a TrialConfig member, parsed as a value and as an axis, expanded,
// hashed and round-tripped through JSON.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/trial_config.h"
#include "common/trial_fields.h"
#include "coordinator/grid_expand.h"
#include "coordinator/grid_spec.h"

namespace gridrun::coordinator {
namespace {

constexpr char kVae[] = "experiment: e1\ndataset: mnist\nmodel: vae-mlp\n";

TEST(TrialFieldsExtensionTest, TheLineAddsAMemberAndATableEntry) {
  TrialConfig config;
  EXPECT_EQ(config.dropout, 0.0);
  const TrialField* field = FindTrialField("dropout");
  ASSERT_NE(field, nullptr);
  EXPECT_EQ(field->kind, FieldKind::kReal);
  EXPECT_EQ(field->use, SpecUse::kAxis);
}

TEST(TrialFieldsExtensionTest, ParsedAsAValueAndExpanded) {
  auto spec = ParseGridSpec(std::string(kVae) + "dropout: 0.25\n");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->fixed.at("dropout"), SpecValue(0.25));
  const auto trials = ExpandGrid(*spec);
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].config.dropout, 0.25);
  EXPECT_NE(ToCanonicalJson(trials[0].config).find("\"dropout\":0.25"), std::string::npos);
}

TEST(TrialFieldsExtensionTest, SweptAsAGridAxisAndHashedByValue) {
  auto spec = ParseGridSpec(std::string(kVae) + "grid:\n  dropout: [0, 0.1, 0.5]\n");
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_EQ(spec->trial_count, 3);
  const auto trials = ExpandGrid(*spec);
  ASSERT_EQ(trials.size(), 3u);
  std::set<std::string> hashes;
  for (const ExpandedTrial& trial : trials) {
    hashes.insert(trial.config_sha256);
    EXPECT_EQ(trial.config_sha256, ConfigSha256(trial.config));
  }
  EXPECT_EQ(hashes.size(), 3u) << "the hash must change with the new setting's value";
  EXPECT_EQ(trials[1].config.dropout, 0.1);
  EXPECT_EQ(trials[1].params.at("dropout"), "0.1");

  // Only dropout differs between these two configs, and their hashes differ.
  TrialConfig a = trials[0].config;
  TrialConfig b = a;
  b.dropout = 0.5;
  EXPECT_NE(ConfigSha256(a), ConfigSha256(b));
}

TEST(TrialFieldsExtensionTest, RoundTripsThroughJson) {
  TrialConfig config;
  config.dataset = "mnist";
  config.model = "vae-mlp";
  config.dropout = 0.375;
  auto parsed = TrialConfigFromJson(ToCanonicalJson(config));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->dropout, 0.375);
  EXPECT_EQ(*parsed, config);
  auto wrong = TrialConfigFromJson(R"({"dropout": "high"})");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().message(), "config.dropout: wrong type (string)");
}

TEST(TrialFieldsExtensionTest, ValidatedFromItsRange) {
  auto spec = ParseGridSpec(std::string(kVae) + "dropout: 1.5\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().message(),
            "line 4: dropout: out of range (got 1.5; allowed: >= 0 and < 1)");
  spec = ParseGridSpec(std::string(kVae) + "dropot: 0.1\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.status().message().find("unknown key, did you mean 'dropout'?"), std::string::npos)
      << spec.status();
  EXPECT_NE(spec.status().message().find(
                "init_encoder_from, init_from, dropout, search, scheduler, stop, keep_best, keep_trained, "
                "grid)"),
            std::string::npos)
      << spec.status();
}

TEST(TrialFieldsExtensionTest, SettableWithSetOverrides) {
  auto text = ApplySpecOverrides(std::string(kVae), {"dropout=[0.1, 0.2]"});
  ASSERT_TRUE(text.ok()) << text.status();
  auto spec = ParseGridSpec(*text);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->trial_count, 2);
}

}  // namespace
}  // namespace gridrun::coordinator
