// The gridrun subcommands that read the results database -- best, export,
// report -- against a database a real in-process coordinator wrote (the
// fixture plays the worker: leases, metrics per epoch, sample PNGs,
// complete/fail, and a resubmission that reuses completed trials). The
// coordinator keeps running while the commands read, as in real use.
// Hostile names are inserted straight into the database (the coordinator
// would refuse them) to show that export and report contain them. The last
// test renders the report (the web app with its data inlined) in headless
// Chromium when it is installed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/escaping.h"
#include "cli/best_command.h"
#include "cli/export_command.h"
#include "cli/query_command.h"
#include "cli/report_command.h"
#include "cli/report_options.h"
#include "tests/integration/cli_test_util.h"
#include "tests/integration/process_util.h"

namespace gridrun::testing {
namespace {
namespace cli_results_commands_test {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

std::string Hex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : bytes) {
    hex += kDigits[c >> 4];
    hex += kDigits[c & 15];
  }
  return hex;
}

// Experiment "results" (2x2 grid, latent_size x kl_weight):
//   trial 0 (2, 1):   COMPLETE, fid last 30
//   trial 1 (2, 0.5): COMPLETE, fid last 10
//   trial 2 (4, 1):   RUNNING,  fid last 20
//   trial 3 (4, 0.5): FAILED ("boom"), no metrics
// Each of trials 0-2 has loss/total, fid, test/neg_elbo at epochs 1-3
// (step = 100 * epoch) and "samples" images at epochs 1 and 3.
// Experiment "results-again": the same grid; trials 0 and 1 reuse them.
class CliResultsTest : public CliFixture {
 protected:
  void SetUp() override {
    CliFixture::SetUp();
    Submit(SmallSpec("results"));
    const std::string worker = Register();
    for (int i = 0; i < 4; ++i) leases_.push_back(LeaseWithin(worker));
    const double fid_last[] = {30, 10, 20};
    for (int i = 0; i < 3; ++i) {
      for (int epoch = 1; epoch <= 3; ++epoch) {
        const int64_t step = 100 * epoch;
        ASSERT_TRUE(
            MetricAt(worker, leases_[i], "loss/total", epoch, step, (i + 1) * 10.0 / epoch).ok());
        ASSERT_TRUE(
            MetricAt(worker, leases_[i], "fid", epoch, step, fid_last[i] + (3 - epoch) * 5).ok());
        ASSERT_TRUE(MetricAt(worker, leases_[i], "test/neg_elbo", epoch, step,
                             1000.0 / std::pow(10.0, epoch - 1) * (i + 1))
                        .ok());
        if (epoch != 2) {
          ASSERT_TRUE(Sample(worker, leases_[i], "samples", epoch, step).ok());
        }
      }
    }
    ASSERT_TRUE(Complete(worker, leases_[0]).ok());
    ASSERT_TRUE(Complete(worker, leases_[1]).ok());
    ASSERT_TRUE(Fail(worker, leases_[3], "boom").ok());
    v1::SubmitGridResponse again = Submit(SmallSpec("results-again"));
    ASSERT_EQ(again.reused_trials(), 2);
  }

  int64_t TrialId(int number) { return leases_[number].trial_id(); }

  // Runs SQL on a separate read-write connection (the coordinator is live).
  void Exec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(DbPath().c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }

  int64_t CountRows(const std::string& table) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(DbPath().c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, ("SELECT count(*) FROM " + table).c_str(), -1, &stmt, nullptr);
    int64_t n = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
  }

  int Best(const std::string& experiment, const std::string& metric, bool max = false,
           const std::string& format = "table") {
    cli::BestOptions options;
    options.db_path = DbPath();
    options.experiment = experiment;
    options.metric = metric;
    options.maximize = max;
    options.format = format;
    out_.str("");
    err_.str("");
    return cli::RunBest(options, out_, err_);
  }

  int Export(const std::string& experiment, const std::string& out_dir) {
    cli::ExportOptions options;
    options.db_path = DbPath();
    options.experiment = experiment;
    options.out_dir = out_dir;
    out_.str("");
    err_.str("");
    return cli::RunExport(options, out_, err_);
  }

  int Report(const std::string& experiment, const std::string& out_path,
             const std::string& metric = "", const std::string& x = "", const std::string& y = "") {
    cli::ReportCommandOptions options;
    options.db_path = DbPath();
    options.experiment = experiment;
    options.out_path = out_path;
    options.heatmap_metric = metric;
    options.x_axis = x;
    options.y_axis = y;
    out_.str("");
    err_.str("");
    return cli::RunReport(options, out_, err_);
  }

  std::vector<v1::TrialLease> leases_;
  std::ostringstream out_, err_;
};

using CliBestTest = CliResultsTest;
using CliExportTest = CliResultsTest;
using CliReportTest = CliResultsTest;
using CliQueryTest = CliResultsTest;

// ---- best ----

TEST_F(CliBestTest, SmallestLastValueWinsByDefault) {
  ASSERT_EQ(Best("results", "fid", false, "csv"), 0) << err_.str();
  EXPECT_EQ(out_.str(), "trial_id,number,state,latent_size,kl_weight,metric,value,step,epoch\n" +
                            std::to_string(TrialId(1)) + ",1,COMPLETE,2,0.5,fid,10,300,3\n");
  ASSERT_EQ(Best("results", "fid"), 0);
  const std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], StartsWith("trial_id  number  state     latent_size  kl_weight  metric"));
  EXPECT_THAT(lines[2], HasSubstr("COMPLETE"));
  EXPECT_THAT(lines[2], HasSubstr("fid"));
}

TEST_F(CliBestTest, MaxPicksTheLargestAndJsonIsTyped) {
  ASSERT_EQ(Best("results", "fid", /*max=*/true, "json"), 0) << err_.str();
  const auto json = nlohmann::json::parse(out_.str());
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json[0]["number"], 0);
  EXPECT_EQ(json[0]["value"], 30);
  EXPECT_EQ(json[0]["latent_size"], 2);
  EXPECT_EQ(json[0]["kl_weight"], 1);
  EXPECT_EQ(json[0]["metric"], "fid");
  // By id as well as by name.
  v1::GetExperimentRequest request;
  request.set_experiment_id("results");
  v1::Experiment experiment;
  ASSERT_TRUE(grid_->GetExperiment(Ctx().get(), request, &experiment).ok());
  ASSERT_EQ(Best(experiment.experiment_id(), "loss/total", true, "csv"), 0);
  EXPECT_THAT(out_.str(), HasSubstr(",2,RUNNING,4,1,loss/total,10,300,3\n"));
}

TEST_F(CliBestTest, ReusedTrialsCompeteWithTheirSourcesValues) {
  ASSERT_EQ(Best("results-again", "fid", false, "json"), 0) << err_.str();
  const auto json = nlohmann::json::parse(out_.str());
  EXPECT_EQ(json[0]["number"], 1);
  EXPECT_EQ(json[0]["value"], 10);
  EXPECT_NE(json[0]["trial_id"], TrialId(1));  // the new experiment's own trial
}

// Only the point with the highest step counts (a NaN there rules the trial
// out, whatever it reported before); equal values go to the lower number.
TEST_F(CliBestTest, LastStepOnlyAndTiesGoToTheLowerNumber) {
  const std::string fid_at_300 = "WHERE name = 'fid' AND step = 300 AND trial_id = ";
  Exec("UPDATE metrics SET value = 10 " + fid_at_300 + std::to_string(TrialId(0)));
  ASSERT_EQ(Best("results", "fid", false, "csv"), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("\n" + std::to_string(TrialId(0)) + ",0,COMPLETE,"));
  ASSERT_EQ(Best("results-again", "fid", false, "json"), 0) << err_.str();
  EXPECT_EQ(nlohmann::json::parse(out_.str())[0]["number"], 0);

  // Trial 0's last fid becomes NaN; its fid of 35 at step 200 must not win --max.
  Exec("UPDATE metrics SET value = NULL " + fid_at_300 + std::to_string(TrialId(0)));
  ASSERT_EQ(Best("results", "fid", /*max=*/true, "csv"), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr(",2,RUNNING,4,1,fid,20,300,3\n"));
  ASSERT_EQ(Best("results", "fid", false, "csv"), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr(",1,COMPLETE,2,0.5,fid,10,300,3\n"));

  Exec("UPDATE metrics SET value = NULL WHERE name = 'fid' AND step = 300");
  EXPECT_EQ(Best("results", "fid"), 1);
  EXPECT_EQ(err_.str(), "gridrun best: every trial of experiment 'results' reported metric "
                        "'fid' as NaN\n");
}

TEST_F(CliBestTest, UnknownMetricListsTheMetricsThatExist) {
  EXPECT_EQ(Best("results", "nope"), 1);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(),
            "gridrun best: experiment 'results' has no metric 'nope'; its metrics: "
            "fid, loss/total, test/neg_elbo\n");
}

TEST_F(CliBestTest, UnknownExperimentAndMissingDatabase) {
  EXPECT_EQ(Best("nope", "fid"), 1);
  EXPECT_EQ(err_.str(), "gridrun best: no experiment 'nope'\n");
  cli::BestOptions options;
  options.db_path = dir_.path() + "/missing.db";
  options.experiment = "results";
  options.metric = "fid";
  EXPECT_EQ(cli::RunBest(options, out_, err_), 1);
  EXPECT_THAT(err_.str(), HasSubstr("no gridrun database at " + options.db_path));
}

TEST_F(CliBestTest, HostileNamesAreDataNotSql) {
  const int64_t trials = CountRows("trials"), metrics = CountRows("metrics");
  EXPECT_EQ(Best("results", "fid' OR 1=1; DELETE FROM trials; --"), 1);
  EXPECT_EQ(Best("results' OR '1'='1", "fid"), 1);
  EXPECT_EQ(err_.str(), "gridrun best: no experiment 'results' OR '1'='1'\n");
  EXPECT_EQ(CountRows("trials"), trials);
  EXPECT_EQ(CountRows("metrics"), metrics);
}

// ---- export ----

// The spec and its model files come back from the database; a stored model
// file name that would leave DIR is refused and nothing lands outside it.
TEST_F(CliExportTest, WritesTheSpecAndItsModelFilesButNoPathOutsideDir) {
  const std::string model =
      "objective: classifier\nclassifier:\n  layers:\n    - Linear: {out_features: 10}\n";
  for (const std::string& path : {std::string("models/clf.yaml"), std::string("../../evil.yaml")}) {
    v1::SubmitGridRequest request;
    const std::string name = path.starts_with("..") ? "hostile" : "files";
    request.set_spec_yaml("experiment: " + name + "\ndataset: mnist\nmodel: " + path + "\n");
    (*request.mutable_model_files())[path] = model;
    v1::SubmitGridResponse response;
    grpc::Status status = grid_->SubmitGrid(Ctx().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  const std::string out_dir = dir_.path() + "/export/deep/er";
  ASSERT_EQ(Export("files", out_dir), 0) << err_.str();
  EXPECT_EQ(ReadWholeFile(out_dir + "/models/clf.yaml"), model);
  EXPECT_THAT(ReadWholeFile(out_dir + "/spec.yaml"), HasSubstr("model: models/clf.yaml"));
  EXPECT_EQ(Export("hostile", out_dir), 1);
  EXPECT_THAT(err_.str(), HasSubstr("model file '../../evil.yaml' is not a path inside"));
  EXPECT_FALSE(fs::exists(dir_.path() + "/export/evil.yaml"));
}

TEST_F(CliExportTest, WritesLongFormatCsvAndEverySample) {
  const std::string out_dir = dir_.path() + "/export/nested";
  ASSERT_EQ(Export("results", out_dir), 0) << err_.str();
  EXPECT_EQ(out_.str(), "wrote " + out_dir +
                            "/metrics.csv (27 points of 4 trials)\n"
                            "wrote 6 sample images to " +
                            out_dir + "/samples\nwrote " + out_dir + "/spec.yaml\n");
  const std::vector<std::string> lines = Lines(ReadWholeFile(out_dir + "/metrics.csv"));
  ASSERT_EQ(lines.size(), 28u);
  EXPECT_EQ(lines[0], "trial,number,latent_size,kl_weight,name,step,epoch,value");
  const std::string id0 = std::to_string(TrialId(0)), id1 = std::to_string(TrialId(1));
  EXPECT_EQ(lines[1], id0 + ",0,2,1,fid,100,1,40");
  EXPECT_THAT(lines, ::testing::Contains(id0 + ",0,2,1,fid,300,3,30"));
  EXPECT_THAT(lines, ::testing::Contains(id1 + ",1,2,0.5,loss/total,300,3,6.666666666666667"));
  EXPECT_THAT(lines,
              ::testing::Contains(std::to_string(TrialId(2)) + ",2,4,1,test/neg_elbo,100,1,3000"));
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(out_dir + "/samples")) {
    ++files;
    EXPECT_EQ(ReadWholeFile(entry.path().string()), TinyPng()) << entry.path();
  }
  EXPECT_EQ(files, 6u);
  for (const char* name :
       {"trial-0_samples_epoch-1_step-100.png", "trial-0_samples_epoch-3_step-300.png",
        "trial-2_samples_epoch-3_step-300.png"}) {
    EXPECT_TRUE(fs::exists(out_dir + "/samples/" + name)) << name;
  }
}

TEST_F(CliExportTest, ReusedTrialsShowTheirSourcesPointsAndSamples) {
  const std::string out_dir = dir_.path() + "/again";
  ASSERT_EQ(Export("results-again", out_dir), 0) << err_.str();
  const std::vector<std::string> lines = Lines(ReadWholeFile(out_dir + "/metrics.csv"));
  ASSERT_EQ(lines.size(), 19u);  // trials 0 and 1: 2 x 3 metrics x 3 epochs
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_THAT(lines[i], Not(StartsWith(std::to_string(TrialId(0)) + ",")));
    EXPECT_THAT(lines[i], Not(StartsWith(std::to_string(TrialId(1)) + ",")));
  }
  EXPECT_THAT(lines[1], HasSubstr(",0,2,1,fid,100,1,40"));
  EXPECT_TRUE(fs::exists(out_dir + "/samples/trial-1_samples_epoch-3_step-300.png"));
}

TEST_F(CliExportTest, HostileNamesCannotEscapeTheDirectory) {
  const std::string id0 = std::to_string(TrialId(0));
  const std::string png = "X'" + Hex(TinyPng()) + "'";
  Exec("INSERT INTO metrics (trial_id, name, step, epoch, value) VALUES (" + id0 +
       ", '../../x', 5, 1, 1.0), (" + id0 + ", 'a,\"b\"' || char(10) || 'c', 6, 1, 2.0);" +
       "INSERT INTO samples (trial_id, name, step, epoch, png) VALUES (" + id0 +
       ", '../../x', 7, 1, " + png + "), (" + id0 + ", '..', 8, 1, " + png + "), (" + id0 +
       ", '/tmp/evil', 9, 1, " + png + "), (" + id0 + ", 'a/b', 10, 1, " + png + ");");
  const std::string out_dir = dir_.path() + "/out/a/b";
  ASSERT_EQ(Export("results", out_dir), 0) << err_.str();
  const std::string csv = ReadWholeFile(out_dir + "/metrics.csv");
  EXPECT_THAT(csv, HasSubstr("\n" + id0 + ",0,2,1,../../x,5,1,1\n"));
  EXPECT_THAT(csv, HasSubstr("\n" + id0 + ",0,2,1,\"a,\"\"b\"\"\nc\",6,1,2\n"));
  for (const char* name :
       {"trial-0_.._.._x_epoch-1_step-7.png", "trial-0___epoch-1_step-8.png",
        "trial-0__tmp_evil_epoch-1_step-9.png", "trial-0_a_b_epoch-1_step-10.png"}) {
    EXPECT_TRUE(fs::is_regular_file(out_dir + "/samples/" + name)) << name;
  }
  // Nothing anywhere in the test directory but DIR's own files, the
  // database and the coordinator's files.
  const fs::path samples = fs::path(out_dir) / "samples";
  for (const auto& entry : fs::recursive_directory_iterator(dir_.path())) {
    if (!entry.is_regular_file()) continue;
    const fs::path path = entry.path();
    const bool ok = path.parent_path() == samples || path == fs::path(out_dir) / "metrics.csv" ||
                    path == fs::path(out_dir) / "spec.yaml" ||
                    path.filename().string().starts_with("grid.");
    EXPECT_TRUE(ok) << "unexpected file " << path;
  }
  EXPECT_FALSE(fs::exists("/tmp/evil"));
}

TEST_F(CliExportTest, ErrorsNameWhatIsWrong) {
  EXPECT_EQ(Export("nope", dir_.path() + "/x"), 1);
  EXPECT_EQ(err_.str(), "gridrun export: no experiment 'nope'\n");
  EXPECT_FALSE(fs::exists(dir_.path() + "/x"));
  std::ofstream(dir_.path() + "/plain-file") << "not a directory";
  EXPECT_EQ(Export("results", dir_.path() + "/plain-file/sub"), 1);
  EXPECT_THAT(err_.str(), HasSubstr("gridrun export: cannot create " + dir_.path() +
                                    "/plain-file/sub/samples"));
}

// ---- report ----

// The report is the web app with the data inlined (ui/snapshot.h): these
// read the snapshot back out of the file.
nlohmann::json SnapshotOf(const std::string& html) {
  const std::string start = "window.GRIDRUN_SNAPSHOT = ";
  const size_t from = html.find(start);
  if (from == std::string::npos) return nullptr;
  const size_t to = html.find(";</script>", from);
  return nlohmann::json::parse(html.substr(from + start.size(), to - from - start.size()));
}

TEST_F(CliReportTest, RendersOneSelfContainedFile) {
  const std::string path = dir_.path() + "/report.html";
  ASSERT_EQ(Report("results", path), 0) << err_.str();
  EXPECT_THAT(out_.str(), StartsWith("wrote " + path + " (4 trials, 3 metrics, 6 sample images, "));
  const std::string html = ReadWholeFile(path);
  const nlohmann::json snapshot = SnapshotOf(html);
  ASSERT_TRUE(snapshot.is_object());
  EXPECT_EQ(snapshot["rows"].size(), 4u);
  EXPECT_EQ(snapshot["samples"].size(), 6u);
  EXPECT_EQ(snapshot["samples"][std::to_string(0) + "\tsamples\t300"], absl::Base64Escape(TinyPng()));
  EXPECT_EQ(snapshot["curves"]["0"]["test/neg_elbo"]["value"].size(), 3u);
  EXPECT_EQ(snapshot["heatmap_default"],
            nlohmann::json({{"metric", "fid"}, {"x", "latent_size"}, {"y", "kl_weight"}}));
  const nlohmann::json& map = snapshot["heatmaps"]["fid\tlatent_size\tkl_weight"];
  ASSERT_EQ(map["cells"].size(), 4u);
  for (const auto& cell : map["cells"]) {
    if (cell["x"] == "4" && cell["y"] == "0.5") EXPECT_TRUE(cell["mean"].is_null());  // failed
    if (cell["x"] == "2" && cell["y"] == "0.5") EXPECT_EQ(cell["mean"], 10);
  }
  EXPECT_EQ(snapshot["rows"][3]["error"], "boom");
  // Nothing is loaded from anywhere: no external element, and a policy that
  // forbids every network load.
  EXPECT_THAT(html, HasSubstr("default-src 'none'"));
  for (const char* forbidden : {"src=\"http", "href=\"http", "<link rel=\"stylesheet", "@import",
                                "url(", "<script src"}) {
    EXPECT_THAT(html, Not(HasSubstr(forbidden))) << forbidden;
  }
}

TEST_F(CliReportTest, HeatMapOptionsAndErrors) {
  const std::string path = dir_.path() + "/r.html";
  ASSERT_EQ(Report("results", path, "loss/total", "kl_weight", "latent_size"), 0) << err_.str();
  EXPECT_EQ(SnapshotOf(ReadWholeFile(path))["heatmap_default"],
            nlohmann::json({{"metric", "loss/total"}, {"x", "kl_weight"}, {"y", "latent_size"}}));
  EXPECT_EQ(Report("results", path, "nope"), 1);
  EXPECT_EQ(err_.str(),
            "gridrun report: --heatmap-metric: experiment 'results' has no metric "
            "'nope'; its metrics: loss/total, test/neg_elbo, fid\n");
  EXPECT_EQ(Report("results", path, "", "depth"), 1);
  EXPECT_EQ(err_.str(),
            "gridrun report: --x: experiment 'results' has no grid axis 'depth'; "
            "its axes: latent_size, kl_weight\n");
  EXPECT_EQ(Report("nope", path), 1);
  EXPECT_EQ(err_.str(), "gridrun report: no experiment 'nope'\n");
  EXPECT_EQ(Report("results", dir_.path() + "/missing-dir/r.html"), 1);
  EXPECT_THAT(err_.str(),
              HasSubstr("gridrun report: cannot write " + dir_.path() + "/missing-dir/r.html"));
}

TEST_F(CliReportTest, HostileNamesAreEscaped) {
  const std::string id0 = std::to_string(TrialId(0));
  Exec("INSERT INTO metrics (trial_id, name, step, epoch, value) VALUES (" + id0 +
       ", '<script>alert(1)</script>', 5, 1, 1.0);"
       "INSERT INTO samples (trial_id, name, step, epoch, png) VALUES (" +
       id0 + ", '\"><img src=x onerror=alert(2)>', 7, 1, X'" + Hex(TinyPng()) + "');");
  const std::string path = dir_.path() + "/r.html";
  ASSERT_EQ(Report("results", path), 0) << err_.str();
  const std::string html = ReadWholeFile(path);
  EXPECT_THAT(html, Not(HasSubstr("<script>alert")));
  EXPECT_THAT(html, Not(HasSubstr("<img src=x")));
  EXPECT_THAT(html, HasSubstr("\\u003cscript>alert(1)\\u003c/script>"));
  const nlohmann::json snapshot = SnapshotOf(html);
  EXPECT_TRUE(snapshot["samples"].contains("0\t\"><img src=x onerror=alert(2)>\t7"));
}

TEST_F(CliReportTest, ReusedExperimentShowsItsSourcesResults) {
  const std::string path = dir_.path() + "/again.html";
  ASSERT_EQ(Report("results-again", path), 0) << err_.str();
  const nlohmann::json snapshot = SnapshotOf(ReadWholeFile(path));
  EXPECT_EQ(snapshot["samples"].size(), 4u);
  EXPECT_EQ(snapshot["rows"][0]["reused_from"], TrialId(0));
  EXPECT_EQ(snapshot["curves"]["0"]["fid"]["value"].back(), 30);
}

// ---- query (on the same live database) and the real binary ----

TEST_F(CliQueryTest, ReadsTheLiveDatabaseAndRefusesWrites) {
  cli::QueryOptions options;
  options.db_path = DbPath();
  options.format = "csv";
  options.sql =
      "SELECT number, state, json_extract(metrics_json, '$.fid') AS fid FROM results "
      "WHERE experiment = 'results' ORDER BY number";
  ASSERT_EQ(cli::RunQuery(options, out_, err_), 0) << err_.str();
  EXPECT_THAT(out_.str(), StartsWith("number,state,fid\n0,COMPLETE,30"));
  EXPECT_THAT(out_.str(), HasSubstr("\n3,FAILED,\n"));

  const int64_t trials = CountRows("trials");
  options.sql = "DELETE FROM trials";
  out_.str("");
  err_.str("");
  EXPECT_EQ(cli::RunQuery(options, out_, err_), 1);
  EXPECT_THAT(err_.str(), HasSubstr("refused"));
  options.sql = "SELEC nonsense";
  err_.str("");
  EXPECT_EQ(cli::RunQuery(options, out_, err_), 1);
  EXPECT_THAT(err_.str(), HasSubstr("SQL error"));
  EXPECT_EQ(CountRows("trials"), trials);
}

TEST_F(CliQueryTest, RealBinaryExitCodesOfTheDatabaseCommands) {
  const std::string gridrun = BuildDir() + "/gridrun";
  const std::string db = DbPath();
  {
    ChildProcess p({gridrun, "best", "--db", db, "results", "--metric", "fid", "--format", "csv"});
    EXPECT_EQ(p.Wait(std::chrono::seconds(20)), 0) << p.output();
    EXPECT_THAT(p.output(), HasSubstr(",1,COMPLETE,2,0.5,fid,10,300,3"));
  }
  {
    ChildProcess p({gridrun, "best", "--db", db, "results", "--metric", "nope"});
    EXPECT_EQ(p.Wait(std::chrono::seconds(20)), 1);
    EXPECT_THAT(p.output(), HasSubstr("its metrics: fid, loss/total, test/neg_elbo"));
  }
  {
    ChildProcess p({gridrun, "export", "--db", db, "results"});  // no --out
    EXPECT_EQ(p.Wait(std::chrono::seconds(20)), 2);
  }
  {
    const std::string out = dir_.path() + "/binary-report.html";
    ChildProcess p({gridrun, "report", "--db", db, "results", "--out", out});
    EXPECT_EQ(p.Wait(std::chrono::seconds(20)), 0) << p.output();
    EXPECT_TRUE(fs::is_regular_file(out));
  }
  {
    const int64_t trials = CountRows("trials");
    ChildProcess p({gridrun, "query", "--db", db, "DELETE FROM trials"});
    EXPECT_EQ(p.Wait(std::chrono::seconds(20)), 1);
    EXPECT_EQ(CountRows("trials"), trials);
  }
}

TEST_F(CliReportTest, RendersInHeadlessChromium) {
  const std::string chromium = "/usr/bin/chromium";
  if (!fs::exists(chromium)) {
    GTEST_SKIP() << chromium << " is not installed; install the `chromium` package "
                 << "(scripts/install-deps.sh) to check that the report renders in a browser";
  }
  const std::string report = dir_.path() + "/report.html";
  ASSERT_EQ(Report("results", report), 0) << err_.str();
  const std::string screenshot = dir_.path() + "/report.png";
  const std::string dom = dir_.path() + "/dom.html";
  // One run does both: the DOM after rendering on stdout, and the screenshot.
  const std::string log = dir_.path() + "/chromium.log";
  ChildProcess browser(
      {"/bin/sh", "-c",
       chromium +
           " --headless --no-sandbox --disable-gpu --disable-background-networking "
           "--disable-component-update --disable-sync --no-first-run --user-data-dir=" +
           dir_.path() + "/chromium-profile --screenshot=" + screenshot +
           " --window-size=1200,2000 --dump-dom file://" + report + " > " + dom + " 2> " + log});
  ASSERT_EQ(browser.Wait(std::chrono::seconds(60)), 0) << ReadWholeFile(log);
  const std::string rendered = ReadWholeFile(dom);
  // The app rendered the experiment from the inlined data: the trials
  // table, a uPlot chart, the six sample images and the 2x2 heat map.
  EXPECT_EQ(Count(rendered, "<tr data-key="), 4u) << rendered.substr(0, 2000);
  EXPECT_GE(Count(rendered, "class=\"uplot"), 1u);
  EXPECT_EQ(Count(rendered, "<img class=\"sample\""), 6u);
  EXPECT_EQ(Count(rendered, "<td class=\"cell\""), 4u);
  EXPECT_THAT(rendered, Not(HasSubstr("<p class=\"error\">")));
  ASSERT_TRUE(fs::exists(screenshot));
  EXPECT_GT(fs::file_size(screenshot), 20'000u) << "a blank page would be tiny";
  EXPECT_EQ(ReadWholeFile(screenshot).substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

}  // namespace cli_results_commands_test
}  // namespace
}  // namespace gridrun::testing
