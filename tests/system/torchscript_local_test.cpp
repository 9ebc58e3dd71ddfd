// End to end with TorchScript networks (modelspec/model_file.h): a
// conditional WGAN-GP generator and critic scripted in PyTorch by
// experiments/models/torchscript/make_cgan.py (Debian's python3-torch) train
// under `gridrun local` for one epoch on generated MNIST files, on 1 rank and
// on 2 ranks, and the same trial config trains equal parameters on 1 and 2
// ranks (the trial runner under mpirun), and its export (TorchScript with the
// trained weights) reproduces `gridrun sample` in Python; a longer run interrupted after its first
// checkpoint resumes from it; and bad inputs (a file that is not TorchScript,
// a critic with the wrong output shape, a file over the size limit, a stored
// file that no longer matches its hash) are each a clear error with nothing
// stored. Skipped where /usr/bin/python3 cannot import torch.
#include <gtest/gtest.h>
#include <signal.h>
#include <torch/script.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "common/sha256.h"
#include "common/subprocess.h"
#include "common/trial_config.h"
#include "coordinator/sqlite_trial_store.h"
#include "models/checkpoint_state.h"
#include "models/model_factory.h"
#include "models/trainer.h"
#include "tests/integration/coordinator_fixture.h"
#include "tests/integration/process_util.h"
#include "tests/models/fake_data.h"

namespace gridrun::testing {
namespace {
namespace torchscript_local_test {

constexpr char kPython[] = "/usr/bin/python3";

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class TorchScriptLocalTest : public ::testing::Test {
 protected:
  // The scripted modules, made once for the suite ("" : python3-torch absent).
  static void SetUpTestSuite() {
    nets_ = new TempDir();
    auto made = RunProcess({kPython, SourceDir() + "/experiments/models/torchscript/make_cgan.py",
                            nets_->path(), "--width", "32", "--latent-size", "16", "--bad-shape"});
    if (made.ok() && made->exit_code == 0) {
      python_ok_ = true;
    } else {
      python_error_ = made.ok() ? made->err : made.status().ToString();
    }
  }
  static void TearDownTestSuite() {
    delete nets_;
    nets_ = nullptr;
  }

  void SetUp() override {
    if (!python_ok_) {
      GTEST_SKIP() << "python3-torch is absent (" << kPython
                   << " cannot script the test's modules: " << python_error_
                   << "); install Debian's python3-torch to run the TorchScript end-to-end test";
    }
    fake_data::WriteFakeMnist(dir_.path() + "/data", /*n_train=*/256, /*n_test=*/64, /*seed=*/5);
    std::filesystem::create_directories(dir_.path() + "/models");
    for (const char* f : {"generator.pt", "critic.pt", "critic_bad_shape.pt"}) {
      std::filesystem::copy_file(nets_->path() + "/" + f, dir_.path() + "/models/" + f);
    }
    WriteModel("cgan.yaml", "critic.pt");
  }

  void WriteModel(const std::string& name, const std::string& critic) {
    std::ofstream(dir_.path() + "/models/" + name) << "objective: wgan-gp\n"
                                                      "conditional: true\n"
                                                      "settings:\n"
                                                      "  latent_size: {default: 16, fixed: true}\n"
                                                      "generator: {torchscript: generator.pt}\n"
                                                      "critic: {torchscript: "
                                                   << critic << "}\n";
  }

  // Writes the spec `name`.yaml and runs `gridrun local` on it.
  int RunLocal(const std::string& name, const std::string& extra_spec,
               const std::vector<std::string>& extra_args, std::string* output,
               const std::string& model = "models/cgan.yaml") {
    const std::string spec = dir_.path() + "/" + name + ".yaml";
    std::ofstream(spec) << "experiment: " << name << "\n"
                        << "dataset: mnist\n"
                        << "model: " << model << "\n"
                        << "batch_size: 32\n"
                        << "critic_iters: 2\n"
                        << "eval_samples: 0\n"
                        << extra_spec;
    std::vector<std::string> argv = {
        BuildDir() + "/gridrun", "local",     spec, "--db",        db_,  "--data-dir",
        dir_.path() + "/data",   "--workers", "1",  "--ui-listen", "off"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    ChildProcess local(argv);
    const int code = local.Wait(std::chrono::minutes(3));
    *output = local.output();
    return code;
  }

  std::unique_ptr<coordinator::SqliteTrialStore> Store() {
    auto store = coordinator::SqliteTrialStore::OpenReadOnly(db_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  coordinator::TrialRecord OnlyTrial(const std::string& experiment) {
    auto trials = Store()->ListTrials(experiment, {});
    EXPECT_TRUE(trials.ok() && trials->size() == 1) << experiment;
    return trials.ok() && !trials->empty() ? trials->front() : coordinator::TrialRecord{};
  }

  // name -> value of every training loss, by step.
  std::map<std::pair<std::string, int64_t>, double> Losses(int64_t trial_id) {
    std::map<std::pair<std::string, int64_t>, double> out;
    auto metrics = Store()->ListMetrics(trial_id);
    EXPECT_TRUE(metrics.ok());
    for (const auto& m : *metrics) {
      if (m.name.starts_with("loss/")) out[{m.name, m.step}] = m.value;
    }
    return out;
  }

  size_t ExperimentCount() {
    if (!std::filesystem::exists(db_)) return 0;
    auto experiments = Store()->ListExperiments(0, 100);
    EXPECT_TRUE(experiments.ok());
    return experiments.ok() ? experiments->size() : 0;
  }

  static inline TempDir* nets_ = nullptr;
  static inline bool python_ok_ = false;
  static inline std::string python_error_;
  TempDir dir_;
  std::string db_ = dir_.path() + "/runs.db";
};

// Trains `config_json` through the trial runner on `ranks` MPI ranks
// (tests/mpi/mpi_checks_main.cpp) and returns its final parameters.
std::vector<torch::Tensor> TrainOnRanks(const std::string& config_json, int ranks,
                                        const std::string& data_dir, const std::string& out,
                                        const std::vector<std::string>& files) {
  std::vector<std::string> argv = {"mpirun",
                                   "--allow-run-as-root",
                                   "--oversubscribe",
                                   "--bind-to",
                                   "none",
                                   "-np",
                                   std::to_string(ranks),
                                   BuildDir() + "/tests/gridrun_mpi_checks",
                                   "train",
                                   config_json,
                                   data_dir,
                                   out};
  argv.insert(argv.end(), files.begin(), files.end());
  ChildProcess run(argv);
  EXPECT_EQ(run.Wait(std::chrono::minutes(2)), 0) << run.output();
  auto config = TrialConfigFromJson(config_json);
  models::TorchScriptFiles bytes;
  for (const std::string& f : files) bytes.emplace(Sha256Hex(ReadText(f)), ReadText(f));
  auto bundle = models::BuildModel(*config, *FindDataset(config->dataset), bytes);
  EXPECT_TRUE(bundle.ok()) << bundle.status();
  auto trainer = models::MakeTrainer(std::move(*bundle), *config);
  EXPECT_TRUE(trainer.ok()) << trainer.status();
  EXPECT_TRUE(models::LoadCheckpointState(ReadText(out), **trainer).ok());
  std::vector<torch::Tensor> params;
  for (const auto& p : (*trainer)->Parameters(models::ParameterGroup::kAll)) {
    params.push_back(p.detach().clone());
  }
  return params;
}

TEST_F(TorchScriptLocalTest, TrainsOnOneAndTwoRanksAlike) {
  std::string out;
  ASSERT_EQ(
      RunLocal("ts-1rank", "epochs: 1\nranks: 1\nsamples: {epochs: [1], count: 20}\n", {}, &out), 0)
      << out;
  ASSERT_EQ(
      RunLocal("ts-2ranks", "epochs: 1\nranks: 2\nsamples: {epochs: [1], count: 20}\n", {}, &out),
      0)
      << out;
  const auto one = OnlyTrial("ts-1rank"), two = OnlyTrial("ts-2ranks");
  ASSERT_EQ(one.state, coordinator::TrialState::kComplete) << one.error;
  ASSERT_EQ(two.state, coordinator::TrialState::kComplete) << two.error;
  const auto a = Losses(one.trial_id), b = Losses(two.trial_id);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a.size(), b.size());
  // The two trials' configs differ in `ranks`, and so in the seed derived
  // from the config (coordinator/grid_expand.cpp): their losses differ. The
  // same config on 1 and on 2 ranks trains the same parameters.
  const std::string data = dir_.path() + "/data";
  const std::vector<std::string> files = {dir_.path() + "/models/generator.pt",
                                          dir_.path() + "/models/critic.pt"};
  const auto p1 = TrainOnRanks(one.config_json, 1, data, dir_.path() + "/one.ckpt", files);
  const auto p2 = TrainOnRanks(one.config_json, 2, data, dir_.path() + "/two.ckpt", files);
  ASSERT_EQ(p1.size(), p2.size());
  ASSERT_FALSE(p1.empty());
  double max_diff = 0;
  for (size_t i = 0; i < p1.size(); ++i) {
    max_diff = std::max(max_diff, (p1[i] - p2[i]).abs().max().item<double>());
  }
  EXPECT_LT(max_diff, 1e-5) << "2-rank training of the TorchScript GAN diverged from 1-rank";
  // ... and it trained: the generator's first weights moved from the file's.
  const torch::jit::Module file_generator = torch::jit::load(files[0]);
  const torch::Tensor untrained = (*file_generator.named_parameters().begin()).value;
  EXPECT_GT((p1[0] - untrained).abs().max().item<double>(), 1e-6);
  auto samples = Store()->ListSamples(one.trial_id);
  ASSERT_TRUE(samples.ok());
  ASSERT_EQ(samples->size(), 1u);
  EXPECT_EQ(samples->front().png.substr(1, 3), "PNG");
  // The trial's config names the files by hash: no path of this machine.
  const std::string g_sha = Sha256Hex(ReadText(dir_.path() + "/models/generator.pt"));
  EXPECT_NE(one.config_json.find(g_sha), std::string::npos);
  // The worker cached the file by its hash.
  EXPECT_TRUE(
      std::filesystem::exists(dir_.path() + "/data/.gridrun-cache/torchscript/" + g_sha + ".pt"));

  // Export writes the trained networks back as TorchScript (no model.py:
  // gridrun never saw their source), and Python's torch.jit.load of the
  // exported generator reproduces `gridrun sample`'s images for the same z.
  const std::string models = dir_.path() + "/exported";
  ChildProcess exported({BuildDir() + "/gridrun", "export", "--db", db_, "ts-1rank", "--models",
                         models});
  ASSERT_EQ(exported.Wait(std::chrono::minutes(2)), 0) << exported.output();
  const std::string trial_dir = models + "/trial-0";
  for (const char* file : {"generator.torchscript.pt", "critic.torchscript.pt", "manifest.json"}) {
    EXPECT_TRUE(std::filesystem::exists(trial_dir + "/" + file)) << file << exported.output();
  }
  EXPECT_FALSE(std::filesystem::exists(trial_dir + "/model.py"));
  ChildProcess sampled({BuildDir() + "/gridrun", "sample", "--db", db_, "ts-1rank:0", "--count",
                        "3", "--seed", "5", "--out", dir_.path() + "/ts.png", "--raw",
                        dir_.path() + "/ts-raw.pt"});
  ASSERT_EQ(sampled.Wait(std::chrono::minutes(2)), 0) << sampled.output();
  const std::string script = dir_.path() + "/round_trip.py";
  std::ofstream(script) << "import sys, torch\n"
                           "G = torch.jit.load(sys.argv[1] + '/generator.torchscript.pt')\n"
                           "D = torch.jit.load(sys.argv[1] + '/critic.torchscript.pt')\n"
                           "G.eval(); D.eval()\n"
                           "raw = torch.load(sys.argv[2])\n"
                           "one_hot = torch.nn.functional.one_hot(raw['labels'], 10).float()\n"
                           "with torch.no_grad():\n"
                           "    images = G(raw['z'], one_hot)\n"
                           "    scores = D(images, one_hot)\n"
                           "assert scores.shape[0] == images.shape[0], scores.shape\n"
                           "print('max_abs_diff', (images - raw['images']).abs().max().item())\n";
  ChildProcess python({kPython, script, trial_dir, dir_.path() + "/ts-raw.pt"});
  ASSERT_EQ(python.Wait(std::chrono::minutes(2)), 0) << python.output();
  const size_t at = python.output().find("max_abs_diff ");
  ASSERT_NE(at, std::string::npos) << python.output();
  EXPECT_LT(std::stod(python.output().substr(at + 13)), 1e-5) << python.output();
}

TEST_F(TorchScriptLocalTest, InterruptedRunResumesFromItsCheckpoint) {
  const std::string spec = dir_.path() + "/ts-resume.yaml";
  std::ofstream(spec) << "experiment: ts-resume\ndataset: mnist\nmodel: models/cgan.yaml\n"
                         "batch_size: 32\ncritic_iters: 2\neval_samples: 0\nepochs: 40\n";
  const std::vector<std::string> argv = {
      BuildDir() + "/gridrun", "local",     spec, "--db",        db_,  "--data-dir",
      dir_.path() + "/data",   "--workers", "1",  "--ui-listen", "off"};
  {
    ChildProcess local(argv);
    bool checkpointed = false;
    for (int i = 0; i < 600 && !checkpointed && local.Running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (!std::filesystem::exists(db_)) continue;
      auto store = coordinator::SqliteTrialStore::OpenReadOnly(db_);
      if (!store.ok()) continue;
      auto trials = (*store)->ListTrials("ts-resume", {});
      if (!trials.ok() || trials->empty()) continue;
      auto checkpoints = (*store)->ListCheckpoints(trials->front().trial_id);
      checkpointed = checkpoints.ok() && !checkpoints->empty();
    }
    ASSERT_TRUE(checkpointed) << local.output();
    local.Signal(SIGINT);  // Ctrl-C: workers checkpoint and give the trial back
    EXPECT_EQ(local.Wait(std::chrono::minutes(1)), 130) << local.output();
  }
  const auto stopped = OnlyTrial("ts-resume");
  ASSERT_NE(stopped.state, coordinator::TrialState::kComplete) << "finished before interrupted";
  ChildProcess again(argv);
  ASSERT_EQ(again.Wait(std::chrono::minutes(3)), 0) << again.output();
  EXPECT_NE(again.output().find("resuming"), std::string::npos) << again.output();
  const auto trial = OnlyTrial("ts-resume");
  EXPECT_EQ(trial.state, coordinator::TrialState::kComplete) << trial.error;
  EXPECT_EQ(trial.attempt, 2);
  // Every step trained once: no gap, no repeat across the interruption.
  std::vector<int64_t> steps;
  for (const auto& [key, value] : Losses(trial.trial_id)) {
    if (key.first == "loss/d") steps.push_back(key.second);
  }
  constexpr int64_t kSteps = 40 * (256 / 32) / 2;  // critic_iters 2: 2 batches a step
  ASSERT_EQ(static_cast<int64_t>(steps.size()), kSteps);
  for (int64_t i = 0; i < kSteps; ++i) ASSERT_EQ(steps[i], i + 1);
}

TEST_F(TorchScriptLocalTest, BadFilesAreClearErrorsAndStoreNothing) {
  std::string out;
  // Not TorchScript at all.
  std::ofstream(dir_.path() + "/models/garbage.pt") << "these are not the bytes of a module";
  WriteModel("garbage.yaml", "garbage.pt");
  EXPECT_EQ(RunLocal("ts-garbage", "epochs: 1\n", {}, &out, "models/garbage.yaml"), 1) << out;
  EXPECT_NE(out.find("garbage.pt: not a TorchScript module (save one with torch.jit.save)"),
            std::string::npos)
      << out;
  // A critic with 7 scores per image.
  WriteModel("bad_shape.yaml", "critic_bad_shape.pt");
  EXPECT_EQ(RunLocal("ts-shape", "epochs: 1\n", {}, &out, "models/bad_shape.yaml"), 1) << out;
  EXPECT_NE(out.find("critic_bad_shape.pt: critic (image [2, 1, 28, 28], one_hot [2, 10]) must "
                     "return one score per image ([2] or [2, 1]), returned [2, 7]"),
            std::string::npos)
      << out;
  // Over the size limit.
  EXPECT_EQ(RunLocal("ts-size", "epochs: 1\n", {"--max-torchscript-bytes", "1000"}, &out), 1)
      << out;
  EXPECT_NE(out.find("bytes; a TorchScript file may have at most 1000 (--max-torchscript-bytes)"),
            std::string::npos)
      << out;
  EXPECT_EQ(ExperimentCount(), 0u);

  // A stored file that no longer matches its hash: train once (storing the
  // files), damage the stored generator, then submit the model text as the
  // database keeps it (the hashes, no files beside it) under a new name.
  ASSERT_EQ(RunLocal("ts-stored", "epochs: 1\n", {}, &out), 0) << out;
  ASSERT_EQ(ExperimentCount(), 1u);
  const std::string g_sha = Sha256Hex(ReadText(dir_.path() + "/models/generator.pt"));
  const std::string stored = db_ + ".checkpoints/torchscript-" + g_sha + ".pt";
  ASSERT_TRUE(std::filesystem::exists(stored));
  std::ofstream(stored, std::ios::binary | std::ios::app) << "x";
  std::filesystem::create_directories(dir_.path() + "/exported");
  const std::string config = OnlyTrial("ts-stored").config_json;
  auto source = nlohmann::json::parse(config).at("model_source").get<std::string>();
  std::ofstream(dir_.path() + "/exported/cgan.yaml") << source;
  EXPECT_EQ(RunLocal("ts-damaged", "epochs: 1\n", {}, &out, "exported/cgan.yaml"), 1) << out;
  EXPECT_NE(out.find("TorchScript file generator.pt no longer matches its sha256 " + g_sha +
                     " on the coordinator"),
            std::string::npos)
      << out;
  EXPECT_EQ(ExperimentCount(), 1u);
}

}  // namespace torchscript_local_test
}  // namespace
}  // namespace gridrun::testing
