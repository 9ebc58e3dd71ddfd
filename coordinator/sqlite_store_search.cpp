// SqliteTrialStore, early stopping: the persistence side of the search
// policies (search/asha.h, search/stop_rules.h). Every decision is made
// inside the write transaction of the report that caused it, from the state
// the tables hold, and commits with the state changes it causes; so a kill -9
// of the coordinator either loses the report (the worker retries it and the
// same decision is made) or keeps the decision and its effects together,
// and a retried report finds the lease moved on (ABORTED) and decides
// nothing twice. The decisions are logged in search_decisions.
#include <nlohmann/json.hpp>

#include "common/number_format.h"
#include "coordinator/sqlite_store_internal.h"
#include "search/asha.h"
#include "search/stop_rules.h"

namespace gridrun::coordinator {
namespace {

using sqlite_store::ReadDouble;

constexpr char kSqlSearchJson[] = "SELECT search_json FROM experiments WHERE experiment_id = ?1";
constexpr char kSqlExperimentOfTrial[] = "SELECT experiment_id FROM trials WHERE trial_id = ?1";
// keep_best: each epoch's value and the step it was measured at (the
// checkpoint saved after that epoch, and its "best" sample grid, have the
// same step).
constexpr char kSqlKeepBestCurve[] =
    "SELECT epoch, value, step FROM metrics WHERE trial_id = ?1 AND name = ?2 ORDER BY step";
constexpr char kSqlTrialSearchState[] =
    "SELECT config_json, stop_after_epoch FROM trials WHERE trial_id = ?1";
constexpr char kSqlMetricAtEpoch[] =
    "SELECT value FROM metrics WHERE trial_id = ?1 AND name = ?2 AND epoch = ?3 "
    "ORDER BY step DESC LIMIT 1";
constexpr char kSqlRungEntries[] =
    "SELECT trial_id, value, promoted FROM rung_results WHERE experiment_id = ?1 AND rung = ?2 "
    "ORDER BY seq";
constexpr char kSqlInsertRungResult[] =
    "INSERT INTO rung_results (experiment_id, rung, seq, trial_id, epoch, value, promoted, "
    "arrived_ms) VALUES (?1, ?2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM rung_results "
    "WHERE experiment_id = ?1 AND rung = ?2), ?3, ?4, ?5, ?6, ?7)";
constexpr char kSqlMarkPromoted[] =
    "UPDATE rung_results SET promoted = 1 WHERE trial_id = ?1 AND rung = ?2";
// The end of a rung lease: a compare-and-set on the lease like EndAttempt.
constexpr char kSqlEndRungLease[] =
    "UPDATE trials SET state = ?4, lease_expires_ms = 0, error = ?5, "
    "rung_leases = rung_leases + 1, rung_epoch = ?6, stop_after_epoch = ?7 "
    "WHERE trial_id = ?1 AND state = 'RUNNING' AND worker_id = ?2 AND attempt = ?3";
constexpr char kSqlPromotePaused[] =
    "UPDATE trials SET state = ?2, error = '', stop_after_epoch = ?3 "
    "WHERE trial_id = ?1 AND state = 'PAUSED'";
constexpr char kSqlInsertDecision[] =
    "INSERT INTO search_decisions (trial_id, kind, rung, epoch, reason, decided_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr char kSqlFinishPaused[] =
    "UPDATE trials SET state = ?2, finished_ms = ?3, error = ?4 "
    "WHERE trial_id = ?1 AND state = 'PAUSED'";
constexpr char kSqlRequestStop[] =
    "UPDATE trials SET stop_requested = 1, stop_reason = ?2 "
    "WHERE trial_id = ?1 AND state = 'RUNNING' AND stop_requested = 0";
constexpr char kSqlCurve[] =
    "SELECT epoch, value FROM metrics WHERE trial_id = ?1 AND name = ?2 ORDER BY step";
constexpr char kSqlOtherCurves[] =
    "SELECT m.trial_id, m.epoch, m.value FROM trials AS t "
    "JOIN metrics AS m ON m.trial_id = t.trial_id AND m.name = ?2 "
    "WHERE t.experiment_id = ?1 AND t.trial_id != ?3 AND t.reused_from = 0 "
    "ORDER BY m.trial_id, m.step";
constexpr char kSqlDecisions[] =
    "SELECT d.decision_id, d.trial_id, t.number, d.kind, d.rung, d.epoch, d.reason, "
    "d.decided_ms FROM search_decisions AS d JOIN trials AS t ON t.trial_id = d.trial_id "
    "WHERE t.experiment_id = ?1 ORDER BY d.decision_id";

int64_t ConfigEpochs(const std::string& config_json) {
  const nlohmann::json config = nlohmann::json::parse(config_json, nullptr, false);
  if (!config.is_object() || !config.contains("epochs") || !config["epochs"].is_number_integer()) {
    return 0;
  }
  return config["epochs"].get<int64_t>();
}

}  // namespace

absl::StatusOr<std::optional<search::SearchSettings>> SqliteTrialStore::ReadSearchSettings(
    const std::string& experiment_id) {
  CachedStatement q = Prepared(kSqlSearchJson);
  SQLite::bind(*q, experiment_id);
  if (!q->executeStep()) {
    return absl::NotFoundError(absl::StrCat("experiment '", experiment_id, "' not found"));
  }
  const std::string json = q->getColumn(0).getString();
  if (json.empty()) return std::optional<search::SearchSettings>();
  absl::StatusOr<search::SearchSettings> settings = search::SearchSettingsFromJson(json);
  if (!settings.ok()) {
    return absl::InternalError(absl::StrCat("experiment ", experiment_id,
                                            ": stored search settings: ",
                                            settings.status().message()));
  }
  return std::optional<search::SearchSettings>(*std::move(settings));
}

absl::StatusOr<bool> SqliteTrialStore::StopsOnNonFinite(const std::string& experiment_id,
                                                        const std::string& error) {
  if (error.find("non-finite") == std::string::npos) return false;
  ASSIGN_OR_RETURN(const auto settings, ReadSearchSettings(experiment_id));
  if (!settings) return false;
  for (const search::StopRule& rule : settings->stop_rules) {
    if (rule.kind == search::StopRule::Kind::kNonFinite) return true;
  }
  return false;
}

void SqliteTrialStore::LogSearchDecision(int64_t trial_id, const char* kind, int rung,
                                         int64_t epoch, const std::string& reason,
                                         int64_t now_ms) {
  CachedStatement u = Prepared(kSqlInsertDecision);
  SQLite::bind(*u, trial_id, kind, rung, epoch, reason, now_ms);
  u->exec();
}

void SqliteTrialStore::FinishPausedIfIdle(const std::string& experiment_id, int64_t now_ms) {
  std::vector<std::pair<int64_t, int64_t>> paused;  // trial, rung epoch
  {
    CachedStatement q = Prepared(sqlite_store::kSqlPausedWhenIdle);
    SQLite::bind(*q, experiment_id);
    while (q->executeStep()) {
      paused.emplace_back(q->getColumn(0).getInt64(), q->getColumn(1).getInt64());
    }
  }
  if (paused.empty()) return;
  // Transition() cannot fail here (PAUSED --finish_paused--> is in the table).
  const TrialState stopped = *Transition(TrialState::kPaused, TrialEvent::kFinishPaused);
  for (const auto& [trial_id, rung_epoch] : paused) {
    const std::string reason =
        absl::StrCat("stopped at epoch ", rung_epoch,
                     ": paused at an ASHA rung when its experiment had nothing left to run");
    CachedStatement u = Prepared(kSqlFinishPaused);
    SQLite::bind(*u, trial_id, TrialStateName(stopped), now_ms, reason);
    u->exec();
    LogSearchDecision(trial_id, "FINISH_PAUSED", -1, rung_epoch, reason, now_ms);
  }
}

absl::StatusOr<std::optional<SqliteTrialStore::EpochAndStep>> SqliteTrialStore::KeepBestEpoch(
    int64_t trial_id) {
  std::string experiment_id;
  {
    CachedStatement q = Prepared(kSqlExperimentOfTrial);
    SQLite::bind(*q, trial_id);
    if (!q->executeStep()) return absl::NotFoundError(absl::StrCat("no trial ", trial_id));
    experiment_id = q->getColumn(0).getString();
  }
  ASSIGN_OR_RETURN(const auto settings, ReadSearchSettings(experiment_id));
  if (!settings || !settings->keep_best) return std::optional<EpochAndStep>();
  search::Curve curve;
  std::map<int64_t, int64_t> step_of_epoch;
  CachedStatement q = Prepared(kSqlKeepBestCurve);
  SQLite::bind(*q, trial_id, settings->keep_best->metric);
  while (q->executeStep()) {
    const int64_t epoch = q->getColumn(0).getInt64();
    curve[epoch] = sqlite_store::ReadDouble(q->getColumn(1));
    step_of_epoch[epoch] = q->getColumn(2).getInt64();
  }
  const std::optional<int64_t> best = search::BestEpoch(settings->keep_best->mode, curve);
  if (!best) return std::optional<EpochAndStep>();
  return std::optional<EpochAndStep>(EpochAndStep{*best, step_of_epoch[*best]});
}

absl::StatusOr<TrialState> SqliteTrialStore::ReachRung(const LeaseRef& lease, int64_t epoch,
                                                       int64_t now_ms) {
  return InWriteTransaction(
      absl::StrCat("recording trial ", lease.trial_id, " at its rung (epoch ", epoch, ")"),
      [&]() -> absl::StatusOr<TrialState> {
        ASSIGN_OR_RETURN(const LeaseState held, CheckLease(lease));
        if (held.cancel_requested || held.stop_requested) {
          const TrialEvent event = held.cancel_requested ? TrialEvent::kFinishCancelled
                                                         : TrialEvent::kFinishStopped;
          ASSIGN_OR_RETURN(const TrialState next,
                           EndAttempt(lease, held.state, event, held.stop_reason, now_ms));
          RefreshExperimentStatus(held.experiment_id, now_ms);
          return next;
        }
        ASSIGN_OR_RETURN(const auto settings, ReadSearchSettings(held.experiment_id));
        if (!settings || !settings->scheduler ||
            settings->scheduler->type != search::SchedulerType::kAsha) {
          return absl::FailedPreconditionError(absl::StrCat(
              "trial ", lease.trial_id, ": its experiment has no asha scheduler (no rungs)"));
        }
        const search::SchedulerSettings& config = *settings->scheduler;
        std::string config_json;
        int64_t stop_after = 0;
        {
          CachedStatement q = Prepared(kSqlTrialSearchState);
          SQLite::bind(*q, lease.trial_id);
          if (!q->executeStep()) return sqlite_store::TrialNotFound(lease.trial_id);
          config_json = q->getColumn(0).getString();
          stop_after = q->getColumn(1).getInt64();
        }
        ASSIGN_OR_RETURN(search::AshaScheduler asha,
                         search::AshaScheduler::Create({config.min_epochs, config.reduction_factor,
                                                        ConfigEpochs(config_json), config.mode}));
        const int rung = asha.RungAt(epoch);
        if (stop_after == 0 || epoch != stop_after || rung < 0) {
          return absl::FailedPreconditionError(
              absl::StrCat("trial ", lease.trial_id, ": epoch ", epoch,
                           " is not the rung its lease stops at (stop_after_epoch ", stop_after,
                           ")"));
        }
        double value = std::numeric_limits<double>::quiet_NaN();  // not reported: ranks last
        {
          CachedStatement q = Prepared(kSqlMetricAtEpoch);
          SQLite::bind(*q, lease.trial_id, config.metric, epoch);
          if (q->executeStep()) value = ReadDouble(q->getColumn(0));
        }
        {
          CachedStatement q = Prepared(kSqlRungEntries);
          SQLite::bind(*q, held.experiment_id, rung);
          while (q->executeStep()) {
            RETURN_IF_ERROR(asha.Restore(rung, search::RungEntry{q->getColumn(0).getInt64(),
                                                                 ReadDouble(q->getColumn(1)),
                                                                 q->getColumn(2).getInt() != 0}));
          }
        }
        ASSIGN_OR_RETURN(const std::vector<search::AshaDecision> decisions,
                         asha.Report(lease.trial_id, rung, value));
        const size_t arrivals = asha.entries(rung).size();
        const int64_t next_stop =
            asha.NextStopEpoch(rung + 1) >= asha.config().max_epochs ? 0
                                                                     : asha.NextStopEpoch(rung + 1);
        const bool promoted = decisions.front().kind == search::AshaDecision::Kind::kPromote;
        {
          CachedStatement u = Prepared(kSqlInsertRungResult);
          SQLite::bind(*u, held.experiment_id, rung, lease.trial_id, epoch, value,
                       promoted ? 1 : 0, now_ms);
          u->exec();
        }
        const std::string where = absl::StrCat("rung ", rung, " (epoch ", epoch, "): ",
                                               config.metric, " ", FormatShortestDouble(value));
        const std::string top = absl::StrCat("the top 1/", config.reduction_factor, " of the ",
                                             arrivals, arrivals == 1 ? " trial" : " trials",
                                             " there so far");
        const std::string reason =
            promoted ? absl::StrCat("promoted at ", where, ", in ", top)
                     : absl::StrCat("paused at ", where, ", not in ", top);
        ASSIGN_OR_RETURN(const TrialState next,
                         Transition(held.state, promoted ? TrialEvent::kRungContinue
                                                         : TrialEvent::kRungPause));
        {
          CachedStatement u = Prepared(kSqlEndRungLease);
          SQLite::bind(*u, lease.trial_id, lease.worker_id, lease.attempt, TrialStateName(next),
                       promoted ? std::string() : reason, epoch, promoted ? next_stop : stop_after);
          if (u->exec() != 1) {
            return absl::AbortedError(absl::StrCat("lease lost: trial ", lease.trial_id,
                                                   " changed concurrently"));
          }
        }
        LogSearchDecision(lease.trial_id, promoted ? "CONTINUE" : "PAUSE", rung, epoch, reason,
                          now_ms);
        ASSIGN_OR_RETURN(const TrialState resumed,
                         Transition(TrialState::kPaused, TrialEvent::kPromote));
        for (size_t i = 1; i < decisions.size(); ++i) {
          const int64_t trial_id = decisions[i].trial_id;
          {
            CachedStatement u = Prepared(kSqlMarkPromoted);
            SQLite::bind(*u, trial_id, rung);
            u->exec();
          }
          {
            CachedStatement u = Prepared(kSqlPromotePaused);
            SQLite::bind(*u, trial_id, TrialStateName(resumed), next_stop);
            u->exec();
          }
          LogSearchDecision(trial_id, "PROMOTE", rung, epoch,
                            absl::StrCat("promoted from rung ", rung, " by trial ",
                                         lease.trial_id, "'s arrival: now in ", top),
                            now_ms);
        }
        RefreshExperimentStatus(held.experiment_id, now_ms);
        return next;
      });
}

absl::StatusOr<std::optional<std::string>> SqliteTrialStore::ApplyStopRules(
    const LeaseRef& lease, int64_t now_ms) {
  return InWriteTransaction(
      absl::StrCat("checking the stop rules of trial ", lease.trial_id),
      [&]() -> absl::StatusOr<std::optional<std::string>> {
        ASSIGN_OR_RETURN(const LeaseState held, CheckLease(lease));
        if (held.stop_requested) return std::optional<std::string>(held.stop_reason);
        ASSIGN_OR_RETURN(const auto settings, ReadSearchSettings(held.experiment_id));
        const bool median = settings && settings->scheduler &&
                            settings->scheduler->type == search::SchedulerType::kMedian;
        if (!settings || (settings->stop_rules.empty() && !median)) {
          return std::optional<std::string>();
        }
        std::map<std::string, search::Curve> curves;
        auto read_curve = [&](const std::string& name) {
          if (curves.contains(name)) return;
          search::Curve& curve = curves[name];
          CachedStatement q = Prepared(kSqlCurve);
          SQLite::bind(*q, lease.trial_id, name);
          while (q->executeStep()) curve[q->getColumn(0).getInt64()] = ReadDouble(q->getColumn(1));
        };
        for (const search::StopRule& rule : settings->stop_rules) read_curve(rule.metric);
        std::optional<std::string> reason;
        for (const search::StopRule& rule : settings->stop_rules) {
          const search::Curve& curve = curves[rule.metric];
          if (curve.empty()) continue;
          reason = search::CheckStopRule(rule, curve, curve.rbegin()->first);
          if (reason) break;
        }
        if (!reason && median) {
          const search::SchedulerSettings& config = *settings->scheduler;
          read_curve(config.metric);
          const search::Curve& own = curves[config.metric];
          if (!own.empty()) {
            std::map<int64_t, search::Curve> others;
            CachedStatement q = Prepared(kSqlOtherCurves);
            SQLite::bind(*q, held.experiment_id, config.metric, lease.trial_id);
            while (q->executeStep()) {
              others[q->getColumn(0).getInt64()][q->getColumn(1).getInt64()] =
                  ReadDouble(q->getColumn(2));
            }
            std::vector<search::Curve> other_curves;
            for (auto& [id, curve] : others) other_curves.push_back(std::move(curve));
            reason = search::MedianRuleStop({config.mode, config.min_epochs, config.min_trials},
                                            config.metric, own, own.rbegin()->first,
                                            other_curves);
          }
        }
        if (!reason) return std::optional<std::string>();
        {
          CachedStatement u = Prepared(kSqlRequestStop);
          SQLite::bind(*u, lease.trial_id, *reason);
          u->exec();
        }
        LogSearchDecision(lease.trial_id, "STOP", -1, 0, *reason, now_ms);
        return reason;
      });
}

absl::StatusOr<std::vector<SearchDecisionRecord>> SqliteTrialStore::ListSearchDecisions(
    const std::string& id_or_name) {
  return InReadTransaction(
      "listing search decisions", [&]() -> absl::StatusOr<std::vector<SearchDecisionRecord>> {
        ASSIGN_OR_RETURN(const std::string id, ResolveExperimentId(id_or_name));
        std::vector<SearchDecisionRecord> out;
        CachedStatement q = Prepared(kSqlDecisions);
        SQLite::bind(*q, id);
        while (q->executeStep()) {
          SearchDecisionRecord d;
          d.decision_id = q->getColumn(0).getInt64();
          d.trial_id = q->getColumn(1).getInt64();
          d.number = q->getColumn(2).getInt64();
          d.kind = q->getColumn(3).getString();
          d.rung = q->getColumn(4).getInt();
          d.epoch = q->getColumn(5).getInt64();
          d.reason = q->getColumn(6).getString();
          d.decided_ms = q->getColumn(7).getInt64();
          out.push_back(std::move(d));
        }
        return out;
      });
}

}  // namespace gridrun::coordinator
