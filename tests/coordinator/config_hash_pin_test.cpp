// Pins the canonical JSON and config hashes of a few grid specs' trials, as
// computed before the trial settings moved into one field table
// (common/trial_fields.inc). Stored experiments reuse results by these
// hashes, so a change of field table, defaults or JSON writer must leave
// every byte the same.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/trial_config.h"
#include "coordinator/grid_expand.h"
#include "coordinator/grid_spec.h"

namespace gridrun::coordinator {
namespace {
namespace config_hash_pin_test {

struct PinnedTrial {
  std::string config_json;
  std::string config_sha256;
};

struct PinnedSpec {
  std::string yaml;
  std::string spec_json;  // GridSpec::canonical_json
  std::vector<PinnedTrial> trials;
};

const PinnedSpec kPinned[] = {
    {"experiment: pin-vae\ndataset: mnist\nmodel: vae-mlp\nepochs: 3\nsamples: {epochs: [1, 3], "
     "count: 12}\ngrid:\n  kl_weight: [1.0, 0.25]\n  latent_size: [2, 64]\n",
     R"({"experiment":"pin-vae","grid":[{"axis":"kl_weight","values":[1.0,0.25]},{"axis":"latent_size","values":[2,64]}],"settings":{"dataset":"mnist","epochs":3,"model":"vae-mlp","samples.count":12,"samples.epochs":[1,3]}})",
     {
         {R"({"batch_size":64,"clip_value":0.01,"critic_iters":1,"dataset":"mnist","depth":1,"device":"cpu","epochs":3,"eval_samples":1000,"experiment":"pin-vae","gp_weight":10.0,"init_encoder_from":"","kl_weight":1.0,"latent_size":2,"model":"vae-mlp","optimizer":{"beta1":0.9,"beta2":0.999,"lr":0.001,"momentum":0.0,"name":"adam","weight_decay":0.0},"ranks":1,"recon_loss":"bce","samples":{"count":12,"epochs":[1,3]},"seed":0,"test_size":0,"train_size":0,"trial_seed":1477089183976247345,"width":500})",
          "2f33367296e8444271756f755e50cee4c7792be0fb486cd3abfa7768fb620eed"},
         {R"({"batch_size":64,"clip_value":0.01,"critic_iters":1,"dataset":"mnist","depth":1,"device":"cpu","epochs":3,"eval_samples":1000,"experiment":"pin-vae","gp_weight":10.0,"init_encoder_from":"","kl_weight":1.0,"latent_size":64,"model":"vae-mlp","optimizer":{"beta1":0.9,"beta2":0.999,"lr":0.001,"momentum":0.0,"name":"adam","weight_decay":0.0},"ranks":1,"recon_loss":"bce","samples":{"count":12,"epochs":[1,3]},"seed":0,"test_size":0,"train_size":0,"trial_seed":144558092127537984,"width":500})",
          "852a14f30efb045ee239292713f08b7a075b7adfeef1560a46a38d62bda61fd7"},
         {R"({"batch_size":64,"clip_value":0.01,"critic_iters":1,"dataset":"mnist","depth":1,"device":"cpu","epochs":3,"eval_samples":1000,"experiment":"pin-vae","gp_weight":10.0,"init_encoder_from":"","kl_weight":0.25,"latent_size":2,"model":"vae-mlp","optimizer":{"beta1":0.9,"beta2":0.999,"lr":0.001,"momentum":0.0,"name":"adam","weight_decay":0.0},"ranks":1,"recon_loss":"bce","samples":{"count":12,"epochs":[1,3]},"seed":0,"test_size":0,"train_size":0,"trial_seed":3678276180611739335,"width":500})",
          "950d76414188c1439b6d356d7a4d2fb1367c60c49cb9d64a3de493bcccb81d54"},
         {R"({"batch_size":64,"clip_value":0.01,"critic_iters":1,"dataset":"mnist","depth":1,"device":"cpu","epochs":3,"eval_samples":1000,"experiment":"pin-vae","gp_weight":10.0,"init_encoder_from":"","kl_weight":0.25,"latent_size":64,"model":"vae-mlp","optimizer":{"beta1":0.9,"beta2":0.999,"lr":0.001,"momentum":0.0,"name":"adam","weight_decay":0.0},"ranks":1,"recon_loss":"bce","samples":{"count":12,"epochs":[1,3]},"seed":0,"test_size":0,"train_size":0,"trial_seed":3111841475332156074,"width":500})",
          "18801a63d3244004f1315635edd6db2d81b16168caef9e0c972d101c39d1438f"},
     }},
    {"experiment: pin-wgan\ndataset: cifar10\nmodel: wgan\nepochs: 2\nclip_value: "
     "0.02\ntrain_size: 512\ngrid:\n  lr: [5e-5, 1e-4]\n",
     R"({"experiment":"pin-wgan","grid":[{"axis":"lr","values":[5e-05,0.0001]}],"settings":{"clip_value":0.02,"dataset":"cifar10","epochs":2,"model":"wgan","train_size":512}})",
     {
         {R"({"batch_size":64,"clip_value":0.02,"critic_iters":5,"dataset":"cifar10","depth":3,"device":"cpu","epochs":2,"eval_samples":1000,"experiment":"pin-wgan","gp_weight":10.0,"init_encoder_from":"","kl_weight":1.0,"latent_size":100,"model":"wgan","optimizer":{"beta1":0.5,"beta2":0.999,"lr":5e-05,"momentum":0.0,"name":"rmsprop","weight_decay":0.0},"ranks":1,"recon_loss":"bce","samples":{"count":64,"epochs":[2]},"seed":0,"test_size":0,"train_size":512,"trial_seed":2375944535654886519,"width":64})",
          "532261b39863c4e7bea92b651a5ae46658b0dbd5b7147a93095349495604d59c"},
         {R"({"batch_size":64,"clip_value":0.02,"critic_iters":5,"dataset":"cifar10","depth":3,"device":"cpu","epochs":2,"eval_samples":1000,"experiment":"pin-wgan","gp_weight":10.0,"init_encoder_from":"","kl_weight":1.0,"latent_size":100,"model":"wgan","optimizer":{"beta1":0.5,"beta2":0.999,"lr":0.0001,"momentum":0.0,"name":"rmsprop","weight_decay":0.0},"ranks":1,"recon_loss":"bce","samples":{"count":64,"epochs":[2]},"seed":0,"test_size":0,"train_size":512,"trial_seed":2811243375515193693,"width":64})",
          "df65dd863512a7f64fd7687cc1b6a3cde225c6376129b068a9fca80af1d5c8b1"},
     }},
    {"experiment: pin-gp\ndataset: fashion-mnist\nmodel: wgan-gp\nbatch_size: 32\nranks: "
     "2\ndevice: cuda\nseed: 7\ngp_weight: 5\noptimizer: {name: adam, betas: [0.0, 0.9], "
     "weight_decay: 1e-5}\n",
     R"({"experiment":"pin-gp","grid":[],"settings":{"batch_size":32,"dataset":"fashion-mnist","device":"cuda","gp_weight":5.0,"model":"wgan-gp","optimizer.betas":[0.0,0.9],"optimizer.name":"adam","optimizer.weight_decay":1e-05,"ranks":2,"seed":7}})",
     {
         {R"({"batch_size":32,"clip_value":0.01,"critic_iters":5,"dataset":"fashion-mnist","depth":3,"device":"cuda","epochs":1,"eval_samples":1000,"experiment":"pin-gp","gp_weight":5.0,"init_encoder_from":"","kl_weight":1.0,"latent_size":100,"model":"wgan-gp","optimizer":{"beta1":0.0,"beta2":0.9,"lr":0.0002,"momentum":0.0,"name":"adam","weight_decay":1e-05},"ranks":2,"recon_loss":"bce","samples":{"count":64,"epochs":[1]},"seed":7,"test_size":0,"train_size":0,"trial_seed":597341475552078581,"width":64})",
          "13ad1ff5fec464ec667be6586013da2c00d420c9d44619a26524c4991a7a2859"},
     }},
    {"experiment: pin-sgd\ndataset: mnist\nmodel: vae-mlp\ninit_encoder_from: "
     "classifier-mlp\nrecon_loss: mse\neval_samples: 100\ntest_size: 1000\noptimizer: {name: sgd, "
     "lr: 0.01, momentum: 0.9}\n",
     R"({"experiment":"pin-sgd","grid":[],"settings":{"dataset":"mnist","eval_samples":100,"init_encoder_from":"classifier-mlp","model":"vae-mlp","optimizer.lr":0.01,"optimizer.momentum":0.9,"optimizer.name":"sgd","recon_loss":"mse","test_size":1000}})",
     {
         {R"({"batch_size":64,"clip_value":0.01,"critic_iters":1,"dataset":"mnist","depth":1,"device":"cpu","epochs":1,"eval_samples":100,"experiment":"pin-sgd","gp_weight":10.0,"init_encoder_from":"classifier-mlp","kl_weight":1.0,"latent_size":20,"model":"vae-mlp","optimizer":{"beta1":0.9,"beta2":0.999,"lr":0.01,"momentum":0.9,"name":"sgd","weight_decay":0.0},"ranks":1,"recon_loss":"mse","samples":{"count":64,"epochs":[1]},"seed":0,"test_size":1000,"train_size":0,"trial_seed":846974633201520700,"width":500})",
          "659f69b061007cb81b35a2d91f0618db309a5335407b016b4bee4eb98975a256"},
     }},
};

TEST(ConfigHashPinTest, ExpandedTrialsKeepTheirJsonAndHashes) {
  for (const PinnedSpec& pinned : kPinned) {
    auto spec = ParseGridSpec(pinned.yaml);
    ASSERT_TRUE(spec.ok()) << spec.status();
    EXPECT_EQ(spec->canonical_json, pinned.spec_json);
    const std::vector<ExpandedTrial> trials = ExpandGrid(*spec);
    ASSERT_EQ(trials.size(), pinned.trials.size()) << pinned.yaml;
    for (size_t i = 0; i < trials.size(); ++i) {
      EXPECT_EQ(ToCanonicalJson(trials[i].config), pinned.trials[i].config_json);
      EXPECT_EQ(trials[i].config_sha256, pinned.trials[i].config_sha256);
      EXPECT_EQ(ConfigSha256(trials[i].config), pinned.trials[i].config_sha256);
      // The stored JSON reads back to the same config.
      auto parsed = TrialConfigFromJson(pinned.trials[i].config_json);
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      EXPECT_EQ(*parsed, trials[i].config);
    }
  }
}

TEST(ConfigHashPinTest, DefaultConfigKeepsItsJsonAndHash) {
  const TrialConfig defaults;
  EXPECT_EQ(
      ToCanonicalJson(defaults),
      R"({"batch_size":64,"clip_value":0.01,"critic_iters":1,"dataset":"","depth":0,"device":"cpu","epochs":1,"eval_samples":1000,"experiment":"","gp_weight":10.0,"init_encoder_from":"","kl_weight":1.0,"latent_size":0,"model":"","optimizer":{"beta1":0.5,"beta2":0.999,"lr":0.0002,"momentum":0.0,"name":"adam","weight_decay":0.0},"ranks":1,"recon_loss":"bce","samples":{"count":64,"epochs":[]},"seed":0,"test_size":0,"train_size":0,"trial_seed":0,"width":0})");
  EXPECT_EQ(ConfigSha256(defaults),
            "feef488b3a176e1ba649fbddb6712865707e16a581556d4a22e22b7821dc7aeb");
}

}  // namespace config_hash_pin_test
}  // namespace
}  // namespace gridrun::coordinator
