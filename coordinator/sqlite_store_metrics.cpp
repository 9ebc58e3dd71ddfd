// SqliteTrialStore, metrics and samples: idempotent writes under lease, keyed
// by (trial_id, name, step), and the reads, which for a reused trial return
// its source's rows.
#include <algorithm>
#include <string>
#include <vector>

#include "coordinator/sqlite_store_internal.h"
#include "search/search_types.h"

namespace gridrun::coordinator {
namespace {

using sqlite_store::ReadDouble;

// Points are written by multi-row upserts of up to kPointsPerUpsert rows: a
// batch of 50 costs one statement execution per table instead of 50 (each a
// cache lookup, six bindings, a step and a reset; docs/BENCHMARKS.md part 3;
// 64 rows rather than 32 took 5% off the committer's CPU). A point repeated
// within one statement updates the row its first copy inserted, as separate
// statements would.
constexpr size_t kPointsPerUpsert = 64;

// The upsert texts for `rows` points (1..kPointsPerUpsert), built once; the
// statement cache keys on them, so they live for the whole program.
struct UpsertTexts {
  std::string metrics;
  std::string metrics_last;
};

const UpsertTexts& UpsertSql(size_t rows) {
  static const std::vector<UpsertTexts>* const kTexts = [] {
    auto* texts = new std::vector<UpsertTexts>;
    for (size_t n = 1; n <= kPointsPerUpsert; ++n) {
      UpsertTexts t;
      t.metrics = "INSERT INTO metrics (trial_id, name, step, epoch, value, wall_ms) VALUES ";
      t.metrics_last = "INSERT INTO metrics_last (trial_id, name, step, epoch, value) VALUES ";
      for (size_t i = 0; i < n; ++i) {
        t.metrics += i == 0 ? "(?,?,?,?,?,?)" : ",(?,?,?,?,?,?)";
        t.metrics_last += i == 0 ? "(?,?,?,?,?)" : ",(?,?,?,?,?)";
      }
      t.metrics += " ON CONFLICT (trial_id, name, step) DO UPDATE SET "
                   "epoch = excluded.epoch, value = excluded.value, wall_ms = excluded.wall_ms";
      // The rule of the schema's metrics_last triggers (sqlite_schema.cpp,
      // version 2), which the store's connection turns off: the newest step
      // wins, so a resumed trial rewriting older steps leaves it in place.
      // MetricsLastTest checks that both give the same rows.
      t.metrics_last += " ON CONFLICT (trial_id, name) DO UPDATE SET "
                        "step = excluded.step, epoch = excluded.epoch, value = excluded.value "
                        "WHERE excluded.step >= metrics_last.step";
      texts->push_back(std::move(t));
    }
    return texts;
  }();
  return (*kTexts)[rows - 1];
}

constexpr char kSqlUpsertSample[] =
    "INSERT INTO samples (trial_id, name, step, epoch, png, rows, cols) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (trial_id, name, step) DO UPDATE SET "
    "epoch = excluded.epoch, png = excluded.png, rows = excluded.rows, cols = excluded.cols";
constexpr char kSqlDeleteSamplesNamed[] = "DELETE FROM samples WHERE trial_id = ?1 AND name = ?2";
constexpr char kSqlMetricsOfTrial[] =
    "SELECT name, step, epoch, value, wall_ms FROM metrics WHERE trial_id = ?1 "
    "ORDER BY name, step";
constexpr char kSqlLatestMetrics[] = "SELECT name, value FROM metrics_last WHERE trial_id = ?1";
constexpr char kSqlSamplesOfTrial[] =
    "SELECT name, step, epoch, png, rows, cols FROM samples WHERE trial_id = ?1 "
    "ORDER BY name, step";

}  // namespace

absl::StatusOr<int64_t> SqliteTrialStore::WriteMetrics(
    const LeaseRef& lease, const std::vector<MetricPointRecord>& points) {
  for (const MetricPointRecord& point : points) {
    if (point.name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric at step ", point.step, " has no name"));
    }
  }
  return InWriteTransaction(
      absl::StrCat("writing metrics of trial ", lease.trial_id), [&]() -> absl::StatusOr<int64_t> {
        RETURN_IF_ERROR(CheckLease(lease).status());
        int64_t written = 0;
        for (size_t first = 0; first < points.size(); first += kPointsPerUpsert) {
          const size_t rows = std::min(kPointsPerUpsert, points.size() - first);
          const UpsertTexts& sql = UpsertSql(rows);
          CachedStatement u = Prepared(sql.metrics.c_str());
          CachedStatement last = Prepared(sql.metrics_last.c_str());
          for (size_t i = 0; i < rows; ++i) {
            const MetricPointRecord& point = points[first + i];
            const int base = static_cast<int>(i) * 6;
            u->bind(base + 1, lease.trial_id);
            // The names outlive the statements' use; bindings clear on release.
            u->bindNoCopy(base + 2, point.name);
            u->bind(base + 3, point.step);
            u->bind(base + 4, point.epoch);
            u->bind(base + 5, point.value);  // a NaN is stored as NULL
            u->bind(base + 6, point.wall_ms);
            const int last_base = static_cast<int>(i) * 5;
            last->bind(last_base + 1, lease.trial_id);
            last->bindNoCopy(last_base + 2, point.name);
            last->bind(last_base + 3, point.step);
            last->bind(last_base + 4, point.epoch);
            last->bind(last_base + 5, point.value);
          }
          written += u->exec();
          last->exec();
        }
        return written;
      });
}

absl::Status SqliteTrialStore::WriteSample(const LeaseRef& lease, const SampleRecord& sample) {
  if (sample.name.empty()) return absl::InvalidArgumentError("sample has no name");
  return InWriteTransaction(absl::StrCat("writing a sample of trial ", lease.trial_id), [&]() {
    RETURN_IF_ERROR(CheckLease(lease).status());
    if (sample.name == search::kBestSampleName) {
      // keep_best (proto convention 7d): only the best epoch's grid, once.
      ASSIGN_OR_RETURN(const std::optional<EpochAndStep> best, KeepBestEpoch(lease.trial_id));
      if (!best || best->epoch != sample.epoch || best->step != sample.step) {
        return absl::OkStatus();
      }
      CachedStatement d = Prepared(kSqlDeleteSamplesNamed);
      SQLite::bind(*d, lease.trial_id, sample.name);
      d->exec();
    }
    CachedStatement u = Prepared(kSqlUpsertSample);
    SQLite::bind(*u, lease.trial_id, sample.name, sample.step, sample.epoch);
    // The PNG is a BLOB (a std::string would bind as TEXT). Its bytes outlive
    // the statement's use; the binding is cleared on release.
    u->bindNoCopy(5, static_cast<const void*>(sample.png.data()),
                  static_cast<int>(sample.png.size()));
    u->bind(6, sample.rows);
    u->bind(7, sample.cols);
    u->exec();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<MetricPointRecord>> SqliteTrialStore::ListMetrics(int64_t trial_id) {
  return InReadTransaction(
      "listing metrics", [&]() -> absl::StatusOr<std::vector<MetricPointRecord>> {
        ASSIGN_OR_RETURN(const int64_t source, ReuseSourceOrSelf(trial_id));
        std::vector<MetricPointRecord> points;
        CachedStatement q = Prepared(kSqlMetricsOfTrial);
        SQLite::bind(*q, source);
        while (q->executeStep()) {
          points.push_back({q->getColumn(0).getString(), q->getColumn(1).getInt64(),
                            q->getColumn(2).getInt64(), ReadDouble(q->getColumn(3)),
                            q->getColumn(4).getInt64()});
        }
        return points;
      });
}

absl::StatusOr<std::map<std::string, double>> SqliteTrialStore::LatestMetrics(int64_t trial_id) {
  return InReadTransaction(
      "reading the latest metrics", [&]() -> absl::StatusOr<std::map<std::string, double>> {
        ASSIGN_OR_RETURN(const int64_t source, ReuseSourceOrSelf(trial_id));
        std::map<std::string, double> latest;
        CachedStatement q = Prepared(kSqlLatestMetrics);
        SQLite::bind(*q, source);
        while (q->executeStep()) {
          latest[q->getColumn(0).getString()] = ReadDouble(q->getColumn(1));
        }
        return latest;
      });
}

absl::StatusOr<std::vector<SampleRecord>> SqliteTrialStore::ListSamples(int64_t trial_id) {
  return InReadTransaction("listing samples", [&]() -> absl::StatusOr<std::vector<SampleRecord>> {
    ASSIGN_OR_RETURN(const int64_t source, ReuseSourceOrSelf(trial_id));
    std::vector<SampleRecord> samples;
    CachedStatement q = Prepared(kSqlSamplesOfTrial);
    SQLite::bind(*q, source);
    while (q->executeStep()) {
      SampleRecord s;
      s.name = q->getColumn(0).getString();
      s.step = q->getColumn(1).getInt64();
      s.epoch = q->getColumn(2).getInt64();
      s.png = q->getColumn(3).getString();
      s.rows = q->getColumn(4).getInt();
      s.cols = q->getColumn(5).getInt();
      samples.push_back(std::move(s));
    }
    return samples;
  });
}

}  // namespace gridrun::coordinator
