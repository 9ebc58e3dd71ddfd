// The dashboard's JSON API (ApiRouter over a ReaderPool) on the database of
// ui_test_db.h: every route's shape, sorting/filtering/paging, downsampled
// curves, heat maps, trial details, sample PNGs, the change counter, and
// that bad parameters are 400s naming what is wrong.
#include "ui/api_router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/ui/ui_test_db.h"

namespace gridrun::ui {
namespace {
namespace api_router_test {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class UiApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pool = ReaderPool::Open(db_.path(), 2);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
    router_ = std::make_unique<ApiRouter>(pool_.get(), [] { return int64_t{5000}; });
  }

  ApiResponse Get(const std::string& path, std::multimap<std::string, std::string> params = {}) {
    return router_->Handle({path, std::move(params)});
  }
  nlohmann::json Json(const std::string& path,
                      std::multimap<std::string, std::string> params = {}) {
    ApiResponse response = Get(path, std::move(params));
    EXPECT_EQ(response.status, 200) << path << ": " << response.body;
    EXPECT_EQ(response.content_type, "application/json");
    return nlohmann::json::parse(response.body);
  }
  std::vector<int64_t> Numbers(const nlohmann::json& page) {
    std::vector<int64_t> numbers;
    for (const auto& row : page["rows"]) numbers.push_back(row["number"]);
    return numbers;
  }

  testing::UiTestDb db_;
  std::unique_ptr<ReaderPool> pool_;
  std::unique_ptr<ApiRouter> router_;
};

TEST_F(UiApiTest, ExperimentsNewestFirstWithCountsProgressAndCompute) {
  const nlohmann::json list = Json("/api/experiments");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "again");
  const nlohmann::json& grid = list[1];
  EXPECT_EQ(grid["id"], "exp-1");
  EXPECT_EQ(grid["trials"], 4);
  EXPECT_EQ(grid["trials_by_state"],
            nlohmann::json({{"COMPLETE", 2}, {"RUNNING", 1}, {"FAILED", 1}}));
  EXPECT_EQ(grid["started_ms"], 100);
  EXPECT_EQ(grid["finished_ms"], 2200);
  // 1000 x 1 rank + 2000 x 2 ranks + (now 5000 - 300) running + 100 failed
  EXPECT_EQ(grid["compute_ms"], 1000 + 4000 + 4700 + 100);
  // 3 terminal trials + the running one at 5/20 steps, of 4.
  EXPECT_DOUBLE_EQ(grid["progress"].get<double>(), (3 + 0.25) / 4);
}

TEST_F(UiApiTest, OutlineHasSpecAxesMetricsAndSamples) {
  const nlohmann::json outline = Json("/api/experiments/grid");
  EXPECT_EQ(outline["id"], "exp-1");
  EXPECT_THAT(outline["axes"].get<std::vector<std::string>>(),
              ElementsAre("latent_size", "kl_weight"));
  EXPECT_THAT(outline["axis_values"]["kl_weight"].get<std::vector<std::string>>(),
              ElementsAre("1", "0.5"));
  EXPECT_THAT(outline["metrics"].get<std::vector<std::string>>(),
              ElementsAre("<img src=x onerror=alert(1)>", "acc", "fid", "long", "loss"));
  EXPECT_THAT(outline["sample_names"].get<std::vector<std::string>>(), ElementsAre("samples"));
  EXPECT_THAT(outline["sample_epochs"].get<std::vector<int64_t>>(), ElementsAre(1, 2));
  EXPECT_EQ(Get("/api/experiments/nope").status, 404);
}

TEST_F(UiApiTest, TrialsSortFilterAndPage) {
  nlohmann::json page = Json("/api/experiments/exp-1/trials");
  EXPECT_EQ(page["total"], 4);
  EXPECT_THAT(Numbers(page), ElementsAre(0, 1, 2, 3));
  EXPECT_EQ(page["rows"][0]["params"]["kl_weight"], "1");
  EXPECT_EQ(page["rows"][0]["metrics"]["acc"], 0.75);  // final-only metric
  EXPECT_EQ(page["rows"][3]["error"], "boom");
  // fid: 30, 10, 20, none (missing values last either way).
  EXPECT_THAT(Numbers(Json("/api/experiments/exp-1/trials", {{"sort", "metric:fid"}})),
              ElementsAre(1, 2, 0, 3));
  EXPECT_THAT(
      Numbers(Json("/api/experiments/exp-1/trials", {{"sort", "metric:fid"}, {"desc", "1"}})),
      ElementsAre(0, 2, 1, 3));
  // kl_weight sorts as numbers: 0.5 < 1.
  EXPECT_THAT(Numbers(Json("/api/experiments/exp-1/trials", {{"sort", "param:kl_weight"}})),
              ElementsAre(1, 3, 0, 2));
  EXPECT_THAT(Numbers(Json("/api/experiments/exp-1/trials", {{"state", "COMPLETE,FAILED"}})),
              ElementsAre(0, 1, 3));
  page = Json("/api/experiments/exp-1/trials", {{"fk", "metric:fid"},
                                                {"fo", "<"},
                                                {"fv", "25"},
                                                {"fk", "param:latent_size"},
                                                {"fo", "="},
                                                {"fv", "2"}});
  EXPECT_THAT(Numbers(page), ElementsAre(1));
  page = Json("/api/experiments/exp-1/trials", {{"offset", "1"}, {"limit", "2"}});
  EXPECT_EQ(page["total"], 4);
  EXPECT_EQ(page["offset"], 1);
  EXPECT_THAT(Numbers(page), ElementsAre(1, 2));
  // A reused trial shows its source's metrics.
  page = Json("/api/experiments/again/trials");
  EXPECT_EQ(page["rows"][0]["metrics"]["fid"], 30);
  EXPECT_EQ(page["rows"][0]["reused_from"], 1);
}

TEST_F(UiApiTest, BadParametersAreClear400s) {
  auto error = [&](std::multimap<std::string, std::string> params) {
    ApiResponse response = Get("/api/experiments/exp-1/trials", std::move(params));
    EXPECT_EQ(response.status, 400) << response.body;
    return nlohmann::json::parse(response.body)["error"].get<std::string>();
  };
  EXPECT_THAT(error({{"sort", "sql:1; DROP TABLE trials"}}), HasSubstr("unknown trial key"));
  EXPECT_THAT(error({{"state", "DONE"}}), HasSubstr("unknown trial state 'DONE'"));
  EXPECT_THAT(error({{"limit", "0"}}), HasSubstr("limit must be 1..5000"));
  EXPECT_THAT(error({{"limit", "x"}}), HasSubstr("parameter 'limit' must be an integer"));
  EXPECT_THAT(error({{"fk", "metric:fid"}, {"fo", "LIKE"}, {"fv", "1"}}),
              HasSubstr("unknown filter operator 'LIKE'"));
  EXPECT_THAT(error({{"fk", "metric:fid"}, {"fo", "<"}, {"fv", "abc"}}),
              HasSubstr("needs a number"));
  EXPECT_THAT(error({{"fk", "metric:fid"}}), HasSubstr("fk, fo and fv"));
  EXPECT_EQ(Get("/api/nothing").status, 404);
  EXPECT_EQ(Get("/api/experiments/exp-1/trials/x").status, 400);
  EXPECT_EQ(Get("/api/experiments/exp-1/trials/9").status, 404);
  EXPECT_EQ(Get("/api/experiments/exp-1/curve", {{"trial", "0"}}).status, 400);  // no metric
  EXPECT_EQ(Get("/api/experiments/exp-1/curve",
                {{"trial", "0"}, {"metric", "loss"}, {"points", "100000"}})
                .status,
            400);
  // The trials table still holds every row: nothing was executed.
  EXPECT_EQ(Json("/api/experiments/exp-1/trials")["total"], 4);
}

TEST_F(UiApiTest, CurvesAreDownsampledKeepingTheSpike) {
  nlohmann::json curve =
      Json("/api/experiments/exp-1/curve", {{"trial", "2"}, {"metric", "long"}, {"points", "500"}});
  EXPECT_EQ(curve["total_points"], 10000);
  EXPECT_LE(curve["step"].size(), 500u);
  EXPECT_EQ(curve["step"].size(), curve["value"].size());
  EXPECT_EQ(curve["step"].front(), 1);
  EXPECT_EQ(curve["step"].back(), 10000);
  const auto values = curve["value"].get<std::vector<double>>();
  EXPECT_EQ(*std::max_element(values.begin(), values.end()), 1000.0);
  curve = Json("/api/experiments/exp-1/curve", {{"trial", "0"}, {"metric", "loss"}});
  EXPECT_EQ(curve["total_points"], 10);
  EXPECT_EQ(curve["epoch"].front(), 1);
  EXPECT_EQ(curve["epoch"].back(), 2);
  // A reused trial's curve is its source's.
  EXPECT_EQ(
      Json("/api/experiments/again/curve", {{"trial", "0"}, {"metric", "loss"}})["total_points"],
      10);
  EXPECT_EQ(
      Json("/api/experiments/exp-1/curve", {{"trial", "3"}, {"metric", "loss"}})["total_points"],
      0);
}

TEST_F(UiApiTest, HeatMapHasOneCellPerAxisPair) {
  const nlohmann::json map = Json("/api/experiments/exp-1/heatmap",
                                  {{"metric", "fid"}, {"x", "latent_size"}, {"y", "kl_weight"}});
  EXPECT_THAT(map["x_values"].get<std::vector<std::string>>(), ElementsAre("2", "4"));
  EXPECT_THAT(map["y_values"].get<std::vector<std::string>>(), ElementsAre("1", "0.5"));
  ASSERT_EQ(map["cells"].size(), 4u);
  for (const auto& cell : map["cells"]) {
    if (cell["x"] == "4" && cell["y"] == "0.5") {
      EXPECT_EQ(cell["values"], 0);
      EXPECT_TRUE(cell["mean"].is_null());
    }
    if (cell["x"] == "2" && cell["y"] == "0.5") EXPECT_EQ(cell["mean"], 10);
  }
  ApiResponse bad = Get("/api/experiments/exp-1/heatmap",
                        {{"metric", "fid"}, {"x", "depth"}, {"y", "kl_weight"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("no grid axis 'depth'"));
}

TEST_F(UiApiTest, TrialDetailAndSamplePng) {
  nlohmann::json detail = Json("/api/experiments/exp-1/trials/0");
  EXPECT_EQ(detail["trial"]["state"], "COMPLETE");
  EXPECT_EQ(detail["config"]["latent_size"], 2);
  EXPECT_EQ(detail["metric_points"]["loss"], 10);
  ASSERT_EQ(detail["samples"].size(), 2u);
  EXPECT_EQ(detail["samples"][1]["step"], 20);
  ASSERT_EQ(detail["checkpoints"].size(), 1u);
  EXPECT_EQ(detail["checkpoints"][0]["path"], "trial-1/step-20.pt");
  detail = Json("/api/experiments/exp-1/trials/1");
  ASSERT_EQ(detail["attempts"].size(), 2u);
  EXPECT_TRUE(detail["attempts"][0]["environment"].is_null());
  EXPECT_EQ(detail["attempts"][1]["environment"]["hosts"][0], "node-a");

  ApiResponse png =
      Get("/api/experiments/exp-1/trials/0/sample", {{"name", "samples"}, {"step", "20"}});
  EXPECT_EQ(png.status, 200);
  EXPECT_EQ(png.content_type, "image/png");
  EXPECT_EQ(png.body, std::string("\x89PNG\x02", 5));
  // The reused trial serves its source's images.
  EXPECT_EQ(
      Get("/api/experiments/again/trials/0/sample", {{"name", "samples"}, {"step", "10"}}).body,
      std::string("\x89PNG\x01", 5));
  EXPECT_EQ(
      Get("/api/experiments/exp-1/trials/0/sample", {{"name", "samples"}, {"step", "30"}}).status,
      404);
}

TEST_F(UiApiTest, VersionGrowsWhenAnotherConnectionWrites) {
  ReaderPool& pool = *pool_;
  auto first = pool.ChangeCounter(1000, 0);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*pool.ChangeCounter(2000, 0), *first) << "no write, no change";
  db_.writer().exec("INSERT INTO metrics (trial_id, name, step, value) VALUES (3, 'late', 1, 2)");
  EXPECT_GT(*pool.ChangeCounter(3000, 0), *first);
  EXPECT_EQ(Json("/api/version").count("version"), 1u);
  // The new metric is visible to the next read.
  EXPECT_THAT(Json("/api/experiments/exp-1")["metrics"].dump(), HasSubstr("late"));
}

// An ASHA experiment: trial #0 ran its 9 epochs, #1 was paused at rung 0
// (epoch 3) and stopped when the experiment ended, #2 was paused at epoch 3
// and is still promotable; 9 + 3 + 3 of 27 trial-epochs were run.
constexpr char kAshaRows[] = R"sql(
INSERT INTO experiments (experiment_id, name, spec_yaml, spec_sha256, status, created_ms, seq,
                         search_json)
VALUES ('exp-3', 'asha', 'experiment: asha', 'c', 'ACTIVE', 3000, 3,
        '{"strategy":"random","trials":3,"seed":1,"scheduler":{"type":"asha","metric":"fid","mode":"min","min_epochs":3,"reduction_factor":3,"min_trials":0},"stop":[],"keep_best":{"metric":"fid","mode":"min"}}');
INSERT INTO trials (trial_id, experiment_id, experiment_seq, number, state, attempt, worker_id,
                    config_json, config_sha256, reused_from, error, created_ms, started_ms,
                    finished_ms, step, total_steps, ranks, rung_epoch) VALUES
  (11, 'exp-3', 3, 0, 'COMPLETE', 1, 'w-1', '{"epochs":9,"dataset":"mnist","model":"vae-mlp"}',
   'a3', 0, '', 1, 10, 90, 90, 90, 1, 3),
  (12, 'exp-3', 3, 1, 'STOPPED', 1, 'w-1', '{"epochs":9,"dataset":"mnist","model":"vae-mlp"}',
   'b3', 0, 'stopped at epoch 3: paused at an ASHA rung when its experiment had nothing left to run',
   1, 10, 40, 30, 90, 1, 3),
  (13, 'exp-3', 3, 2, 'PAUSED', 1, 'w-2', '{"epochs":9,"dataset":"mnist","model":"vae-mlp"}',
   'c3', 0, 'paused at rung 0 (epoch 3): fid 40, not in the top 1/3 of the 2 trials there so far',
   1, 10, 0, 30, 90, 1, 3);
INSERT INTO metrics (trial_id, name, step, epoch, value) VALUES
  (11, 'fid', 30, 3, 20), (11, 'fid', 90, 9, 5), (12, 'fid', 30, 3, 30), (13, 'fid', 30, 3, 40);
INSERT INTO rung_results (experiment_id, rung, seq, trial_id, epoch, value, promoted, arrived_ms)
VALUES ('exp-3', 0, 1, 11, 3, 20, 1, 31), ('exp-3', 0, 2, 12, 3, 30, 0, 32),
       ('exp-3', 0, 3, 13, 3, NULL, 0, 33);
INSERT INTO search_decisions (trial_id, kind, rung, epoch, reason, decided_ms) VALUES
  (12, 'PAUSE', 0, 3, 'paused at rung 0 (epoch 3): fid 30, not in the top 1/3', 32),
  (12, 'FINISH_PAUSED', -1, 3, 'stopped at epoch 3: nothing left to run', 40);
INSERT INTO checkpoints (trial_id, step, epoch, sha256, size_bytes, path, created_ms, best)
VALUES (11, 30, 3, 'b1', 10, 'trial-11/step-30.pt', 31, 1),
       (11, 90, 9, 'b2', 10, 'trial-11/step-90.pt', 90, 0);
)sql";

TEST_F(UiApiTest, EarlyStoppingShowsRungsDecisionsAndComputeSaved) {
  db_.writer().exec(kAshaRows);
  const nlohmann::json list = Json("/api/experiments");
  ASSERT_EQ(list[0]["name"], "asha");
  EXPECT_EQ(list[0]["trial_epochs_run"], 15);
  EXPECT_EQ(list[0]["trial_epochs_full"], 27);
  EXPECT_EQ(list[0]["compute_saved"],
            "15 of 27 trial-epochs run (44% saved by early stopping and reuse)");
  EXPECT_TRUE(list[1]["search"].is_null()) << "a plain grid has no search settings";

  const nlohmann::json outline = Json("/api/experiments/asha");
  EXPECT_EQ(outline["search"]["scheduler"]["type"], "asha");
  EXPECT_EQ(outline["search"]["scheduler"]["reduction_factor"], 3);

  // Sorted by the rung reached, then number; each row says where it stopped.
  const nlohmann::json page =
      Json("/api/experiments/asha/trials", {{"sort", "rung"}, {"state", "PAUSED,STOPPED"}});
  EXPECT_THAT(Numbers(page), ElementsAre(1, 2));
  EXPECT_EQ(page["rows"][0]["rung_epoch"], 3);
  EXPECT_THAT(page["rows"][1]["error"].get<std::string>(), HasSubstr("paused at rung 0"));
  EXPECT_EQ(Numbers(Json("/api/experiments/asha/trials",
                         {{"fk", "rung"}, {"fo", ">="}, {"fv", "3"}}))
                .size(),
            3u);

  const nlohmann::json stopped = Json("/api/experiments/asha/trials/1");
  ASSERT_EQ(stopped["rungs"].size(), 1u);
  EXPECT_EQ(stopped["rungs"][0]["epoch"], 3);
  EXPECT_EQ(stopped["rungs"][0]["seq"], 2);
  EXPECT_EQ(stopped["rungs"][0]["promoted"], false);
  ASSERT_EQ(stopped["decisions"].size(), 2u);
  EXPECT_EQ(stopped["decisions"][0]["kind"], "PAUSE");
  EXPECT_EQ(stopped["decisions"][1]["kind"], "FINISH_PAUSED");
  EXPECT_TRUE(Json("/api/experiments/asha/trials/2")["rungs"][0]["value"].is_null())
      << "a non-finite value at a rung is stored as NULL";
  const nlohmann::json complete = Json("/api/experiments/asha/trials/0");
  EXPECT_TRUE(complete["decisions"].empty());
  ASSERT_EQ(complete["checkpoints"].size(), 2u);
  EXPECT_EQ(complete["checkpoints"][0]["best"], true);
  EXPECT_EQ(complete["checkpoints"][1]["best"], false);
}

TEST_F(UiApiTest, TrialDetailShowsTheArchitecture) {
  db_.writer().exec(kAshaRows);
  // A built-in model: the count `gridrun models vae-mlp` prints.
  const nlohmann::json builtin = Json("/api/experiments/asha/trials/0")["architecture"];
  EXPECT_EQ(builtin["model"], "vae-mlp");
  EXPECT_EQ(builtin["from_file"], false);
  EXPECT_EQ(builtin["parameters"], 815824);
  EXPECT_THAT(builtin["table"].get<std::string>(), HasSubstr("| Linear-7 | [-1, 784] | 392,784 |"));

  // A user's model file travels in the config (model_source).
  const std::string file =
      "objective: gan\nsettings: {latent_size: 8}\ngenerator:\n  layers:\n"
      "    - Linear: {out_features: 16}\n    - ReLU\n"
      "    - Linear: {out_features: \"${channels * image_height * image_width}\"}\n"
      "    - Tanh\n"
      "    - Unflatten: {dim: 1, unflattened_size: [\"${channels}\", \"${image_height}\", "
      "\"${image_width}\"]}\n"
      "discriminator:\n  layers:\n    - Flatten\n    - Linear: {out_features: 1}\n";
  const nlohmann::json config = {{"dataset", "mnist"}, {"model", "tiny.yaml"}, {"model_source", file}};
  SQLite::Statement set(db_.writer(), "UPDATE trials SET config_json = ?1 WHERE trial_id = 12");
  set.bind(1, config.dump());
  set.exec();
  const nlohmann::json mine = Json("/api/experiments/asha/trials/1")["architecture"];
  EXPECT_EQ(mine["model"], "tiny.yaml");
  EXPECT_EQ(mine["from_file"], true);
  EXPECT_EQ(mine["parameters"], 144 + 13328 + 785);

  // A config that does not resolve says why instead of failing the page.
  db_.writer().exec(
      "UPDATE trials SET config_json = '{\"dataset\":\"mnist\",\"model\":\"no-such\"}' "
      "WHERE trial_id = 13");
  const nlohmann::json broken = Json("/api/experiments/asha/trials/2")["architecture"];
  EXPECT_THAT(broken["error"].get<std::string>(), HasSubstr("unknown model 'no-such'"));
}

}  // namespace api_router_test
}  // namespace
}  // namespace gridrun::ui
