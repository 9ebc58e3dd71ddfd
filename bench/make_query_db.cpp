// Writes a synthetic gridrun database for the query-speed benchmark: one
// experiment "synthetic" with a 10 x 10 x 10 x R grid (latent_size, kl_weight,
// lr, rep) of COMPLETE trials, each with --names metrics x --steps steps of
// metric points, through the real schema (coordinator/sqlite_schema.h), so
// `gridrun best` and `gridrun query` run against the shipped indexes.
//
//   gridrun-bench-make-query-db --db q.db --trials 100000 --names 4 --steps 25
//
// Values are deterministic pseudo-random numbers; test/loss falls with the step.
#include <CLI/CLI.hpp>
#include <SQLiteCpp/SQLiteCpp.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "bench/bench_util.h"
#include "common/trial_config.h"
#include "coordinator/sqlite_schema.h"

int main(int argc, char** argv) {
  CLI::App app{"synthetic database for the query benchmark"};
  std::string path;
  int64_t trials = 100000;
  int names = 4, steps = 25;
  app.add_option("--db", path, "database file to create (must not exist)")->required();
  app.add_option("--trials", trials, "trials (a multiple of 1000)")->check(CLI::Range(1000, 10000000));
  app.add_option("--names", names, "metric names per trial (1-4)")->check(CLI::Range(1, 4));
  app.add_option("--steps", steps, "points per metric")->check(CLI::Range(1, 100000));
  CLI11_PARSE(app, argc, argv);
  if (trials % 1000 != 0) {
    std::cerr << "--trials: must be a multiple of 1000 (10 x 10 x 10 x reps), got " << trials << "\n";
    return 2;
  }
  if (std::filesystem::exists(path)) {
    std::cerr << "--db: " << path << " already exists\n";
    return 2;
  }
  auto db = gridrun::coordinator::OpenDatabase(path);
  if (!db.ok()) {
    std::cerr << db.status() << "\n";
    return 1;
  }
  const double t0 = gridrun::bench::NowSeconds();
  try {
    SQLite::Database& d = **db;
    d.exec("PRAGMA synchronous = OFF");  // a throw-away synthetic file
    SQLite::Transaction tx(d);
    d.exec(
        "INSERT INTO experiments (experiment_id, name, spec_yaml, spec_sha256, status, "
        "created_ms, seq) VALUES ('exp-synthetic', 'synthetic', 'synthetic', '', 'DONE', 0, 1)");
    const std::string n = std::to_string(trials);
    // Every trial carries a real trial's canonical config (the dashboard's
    // compute-saved sum reads its epochs), as long as a stored one.
    gridrun::TrialConfig config;
    config.experiment = "synthetic";
    config.dataset = "mnist";
    config.model = "vae-mlp";
    config.epochs = steps;
    config.latent_size = 20;
    config.width = 500;
    config.depth = 1;
    config.samples.epochs = {steps};
    SQLite::Statement insert(
        d,
        "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < " + n +
        ") INSERT INTO trials (trial_id, experiment_id, experiment_seq, number, state, attempt, "
        "config_json, config_sha256, created_ms, started_ms, finished_ms) "
        "SELECT i + 1, 'exp-synthetic', 1, i, 'COMPLETE', 1, ?1, printf('%064d', i), 0, 1, 2 "
        "FROM s");
    insert.bind(1, gridrun::ToCanonicalJson(config));
    insert.exec();
    // Axes: number = ((latent * 10 + kl) * 10 + lr) * reps + rep.
    const std::string reps = std::to_string(trials / 1000);
    d.exec("INSERT INTO trial_params (trial_id, name, value) "
           "SELECT trial_id, 'latent_size', (number / (" + reps + " * 100)) * 2 + 2 FROM trials");
    d.exec("INSERT INTO trial_params (trial_id, name, value) "
           "SELECT trial_id, 'kl_weight', printf('%.1f', ((number / (" + reps +
           " * 10)) % 10 + 1) / 10.0) FROM trials");
    d.exec("INSERT INTO trial_params (trial_id, name, value) "
           "SELECT trial_id, 'lr', printf('%.0e', ((number / " + reps +
           ") % 10 + 1) * 1e-4) FROM trials");
    d.exec("INSERT INTO trial_params (trial_id, name, value) "
           "SELECT trial_id, 'rep', number % " + reps + " FROM trials");
    const char* kNames[] = {"test/loss", "loss/total", "test/recon", "test/kl"};
    for (int k = 0; k < names; ++k) {
      d.exec(std::string("WITH RECURSIVE s(step) AS (SELECT 1 UNION ALL SELECT step + 1 FROM s "
                         "WHERE step < ") +
             std::to_string(steps) +
             ") INSERT INTO metrics (trial_id, name, step, epoch, value, wall_ms) "
             "SELECT t.trial_id, '" + kNames[k] + "', s.step, s.step, "
             "100.0 / s.step + ((t.trial_id * 7919 + s.step * 104729 + " + std::to_string(k) +
             ") % 10007) / 1000.0, s.step * 1000 FROM trials AS t, s ORDER BY 1, 3");
    }
    tx.commit();
    d.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    d.exec("ANALYZE");
  } catch (const std::exception& e) {
    std::cerr << "building " << path << ": " << e.what() << "\n";
    return 1;
  }
  std::fprintf(stderr, "wrote %s: %lld trials, %lld metric points in %.1f s\n", path.c_str(),
               static_cast<long long>(trials), static_cast<long long>(trials) * names * steps,
               gridrun::bench::NowSeconds() - t0);
  return 0;
}
