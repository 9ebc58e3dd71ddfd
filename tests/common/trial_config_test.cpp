#include "common/trial_config.h"

#include <gtest/gtest.h>

namespace gridrun {
namespace {
namespace trial_config_test {

TrialConfig Example() {
  TrialConfig c;
  c.experiment = "vae-kl";
  c.dataset = "mnist";
  c.model = "vae-mlp";
  c.latent_size = 2;
  c.width = 500;
  c.depth = 1;
  c.kl_weight = 0.5;
  c.samples.epochs = {1, 5};
  c.samples.count = 12;
  return c;
}

TEST(TrialConfigTest, JsonRoundTrips) {
  const TrialConfig c = Example();
  auto parsed = TrialConfigFromJson(ToCanonicalJson(c));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, c);
}

TEST(TrialConfigTest, CanonicalJsonHasSortedKeys) {
  const std::string json = ToCanonicalJson(Example());
  EXPECT_EQ(json.find("{\"batch_size\":64,"), 0u) << json;
  EXPECT_LT(json.find("\"clip_value\""), json.find("\"critic_iters\""));
}

TEST(TrialConfigTest, HashIgnoresExperimentNameButNotHyperparameters) {
  TrialConfig a = Example();
  TrialConfig b = Example();
  b.experiment = "another-name";
  EXPECT_EQ(ConfigSha256(a), ConfigSha256(b));
  b.kl_weight = 0.25;
  EXPECT_NE(ConfigSha256(a), ConfigSha256(b));
  EXPECT_EQ(ConfigSha256(a).size(), 64u);
}

TEST(TrialConfigTest, WrongTypeNamesTheKey) {
  auto parsed = TrialConfigFromJson(R"({"epochs": "ten"})");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "config.epochs: wrong type (string)");
  auto nested = TrialConfigFromJson(R"({"optimizer": {"lr": []}})");
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.status().message(), "config.optimizer.lr: wrong type (array)");
  EXPECT_FALSE(TrialConfigFromJson("not json").ok());
}

}  // namespace trial_config_test
}  // namespace
}  // namespace gridrun
