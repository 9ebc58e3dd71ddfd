// SqliteTrialStore, experiments: submitting a grid (with reuse of COMPLETE
// trials of the same config), reading and listing experiments and their
// trials, cancelling, and the ACTIVE -> DONE status refresh.
#include <set>

#include "common/sha256.h"
#include "coordinator/compute_saved.h"
#include "coordinator/sqlite_store_internal.h"

namespace gridrun::coordinator {
namespace {

// State literals are the on-disk spellings of TrialStateName(); target
// states are always bound from Transition().
constexpr char kSqlExperimentById[] = "SELECT * FROM experiments WHERE experiment_id = ?1";
constexpr char kSqlExperimentIdByName[] =
    "SELECT experiment_id, spec_sha256 FROM experiments WHERE name = ?1";
constexpr char kSqlExperimentIdExists[] = "SELECT 1 FROM experiments WHERE experiment_id = ?1";
constexpr char kSqlExperimentIdsNewestFirst[] =
    "SELECT experiment_id FROM experiments ORDER BY seq DESC LIMIT ?1 OFFSET ?2";
constexpr char kSqlTrialCountsByState[] =
    "SELECT state, COUNT(*) FROM trials WHERE experiment_id = ?1 GROUP BY state";
constexpr char kSqlSubmittedCounts[] =
    "SELECT COUNT(*), COALESCE(SUM(reused_from != 0), 0) FROM trials WHERE experiment_id = ?1";
constexpr char kSqlNextExperimentSeq[] = "SELECT COALESCE(MAX(seq), 0) + 1 FROM experiments";
constexpr char kSqlInsertExperiment[] =
    "INSERT INTO experiments (experiment_id, name, spec_yaml, spec_sha256, status, created_ms, "
    "seq, search_json, model_files_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
constexpr char kSqlReuseSource[] =
    "SELECT trial_id, epoch, step, total_steps FROM trials "
    "WHERE config_sha256 = ?1 AND state = 'COMPLETE' AND reused_from = 0 "
    "ORDER BY finished_ms DESC, trial_id DESC LIMIT 1";
constexpr char kSqlInsertTrial[] =
    "INSERT INTO trials (experiment_id, number, state, config_json, config_sha256, ranks, device, "
    "reused_from, epoch, step, total_steps, created_ms, started_ms, finished_ms, "
    "experiment_seq, stop_after_epoch, init_from_trial) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";
constexpr char kSqlInsertParam[] =
    "INSERT INTO trial_params (trial_id, name, value) VALUES (?1, ?2, ?3)";
constexpr char kSqlMarkExperimentDone[] =
    "UPDATE experiments SET status = ?2 WHERE experiment_id = ?1 AND status = ?3 "
    "AND NOT EXISTS (SELECT 1 FROM trials WHERE experiment_id = ?1 "
    "                AND state IN ('WAITING', 'RUNNING'))";
constexpr char kSqlSetExperimentStatus[] =
    "UPDATE experiments SET status = ?2 WHERE experiment_id = ?1 AND status = ?3";
constexpr char kSqlTrialsOfExperiment[] =
    "SELECT * FROM trials WHERE experiment_id = ?1 ORDER BY number";
constexpr char kSqlParamsOfExperiment[] =
    "SELECT p.trial_id, p.name, p.value FROM trial_params AS p "
    "JOIN trials AS t ON t.trial_id = p.trial_id WHERE t.experiment_id = ?1";
// WAITING and PAUSED trials alike (both --cancel--> CANCELLED).
constexpr char kSqlCancelWaiting[] =
    "UPDATE trials SET state = ?2, finished_ms = ?3 "
    "WHERE experiment_id = ?1 AND state IN ('WAITING', 'PAUSED')";
constexpr char kSqlTrainedKept[] =
    "SELECT COUNT(DISTINCT c.trial_id), COALESCE(SUM(c.size_bytes), 0) "
    "FROM trials AS t JOIN checkpoints AS c ON c.trial_id = t.trial_id "
    "WHERE t.experiment_id = ?1 AND t.state = 'COMPLETE'";
constexpr char kSqlCancelRunning[] =
    "UPDATE trials SET state = ?2, cancel_requested = 1 "
    "WHERE experiment_id = ?1 AND state = 'RUNNING'";

std::optional<ExperimentStatus> ParseExperimentStatus(std::string_view name) {
  for (ExperimentStatus status :
       {ExperimentStatus::kActive, ExperimentStatus::kDone, ExperimentStatus::kCancelled}) {
    if (name == ExperimentStatusName(status)) return status;
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<std::string> SqliteTrialStore::ResolveExperimentId(const std::string& id_or_name) {
  {
    CachedStatement q = Prepared(kSqlExperimentIdExists);
    SQLite::bind(*q, id_or_name);
    if (q->executeStep()) return id_or_name;
  }
  CachedStatement q = Prepared(kSqlExperimentIdByName);
  SQLite::bind(*q, id_or_name);
  if (q->executeStep()) return q->getColumn(0).getString();
  return absl::NotFoundError(absl::StrCat("experiment '", id_or_name, "' not found"));
}

absl::StatusOr<ExperimentRecord> SqliteTrialStore::ReadExperiment(
    const std::string& experiment_id) {
  ExperimentRecord e;
  {
    CachedStatement q = Prepared(kSqlExperimentById);
    SQLite::bind(*q, experiment_id);
    if (!q->executeStep()) {
      return absl::NotFoundError(absl::StrCat("experiment '", experiment_id, "' not found"));
    }
    e.experiment_id = q->getColumn("experiment_id").getString();
    e.name = q->getColumn("name").getString();
    e.spec_yaml = q->getColumn("spec_yaml").getString();
    e.spec_sha256 = q->getColumn("spec_sha256").getString();
    e.created_ms = q->getColumn("created_ms").getInt64();
    e.search_json = q->getColumn("search_json").getString();
    e.model_files_json = q->getColumn("model_files_json").getString();
    const std::string status = q->getColumn("status").getString();
    std::optional<ExperimentStatus> parsed = ParseExperimentStatus(status);
    if (!parsed.has_value()) {
      return absl::InternalError(
          absl::StrCat("experiment ", experiment_id, " has unknown status '", status, "'"));
    }
    e.status = *parsed;
  }
  for (TrialState state : kAllTrialStates) e.trial_counts[state] = 0;
  CachedStatement q = Prepared(kSqlTrialCountsByState);
  SQLite::bind(*q, experiment_id);
  while (q->executeStep()) {
    ASSIGN_OR_RETURN(const TrialState state, sqlite_store::ReadState(q->getColumn(0), 0));
    e.trial_counts[state] = q->getColumn(1).getInt64();
    e.total_trials += q->getColumn(1).getInt64();
  }
  CachedStatement epochs = Prepared(kSqlTrialEpochsOfExperiment);
  SQLite::bind(*epochs, experiment_id);
  if (epochs->executeStep()) {
    e.trial_epochs_run = epochs->getColumn(0).getInt64();
    e.trial_epochs_full = epochs->getColumn(1).getInt64();
  }
  CachedStatement kept = Prepared(kSqlTrainedKept);
  SQLite::bind(*kept, experiment_id);
  if (kept->executeStep()) {
    e.trained_kept = kept->getColumn(0).getInt64();
    e.trained_kept_bytes = kept->getColumn(1).getInt64();
  }
  return e;
}

void SqliteTrialStore::RefreshExperimentStatus(const std::string& experiment_id,
                                               int64_t now_ms) {
  FinishPausedIfIdle(experiment_id, now_ms);
  CachedStatement u = Prepared(kSqlMarkExperimentDone);
  SQLite::bind(*u, experiment_id, ExperimentStatusName(ExperimentStatus::kDone),
               ExperimentStatusName(ExperimentStatus::kActive));
  u->exec();
}

std::string SqliteTrialStore::NewExperimentId(const NewExperiment& experiment) {
  const std::string digest = Sha256Hex(experiment.name + experiment.spec_sha256);
  for (size_t length = 8; length < digest.size(); length += 4) {
    std::string id = absl::StrCat("exp-", digest.substr(0, length));
    CachedStatement q = Prepared(kSqlExperimentIdExists);
    SQLite::bind(*q, id);
    if (!q->executeStep()) return id;
  }
  return absl::StrCat("exp-", digest);
}

absl::StatusOr<SubmitResult> SqliteTrialStore::SubmitExperiment(const NewExperiment& experiment,
                                                                bool rerun, int64_t now_ms) {
  if (experiment.name.empty()) {
    return absl::InvalidArgumentError("experiment name must not be empty");
  }
  std::set<int64_t> numbers;
  for (const NewTrial& trial : experiment.trials) {
    if (!numbers.insert(trial.number).second) {
      return absl::InvalidArgumentError(absl::StrCat("experiment '", experiment.name,
                                                     "' has two trials numbered ", trial.number));
    }
  }
  return InWriteTransaction(
      absl::StrCat("submitting experiment '", experiment.name, "'"),
      [&]() -> absl::StatusOr<SubmitResult> {
        SubmitResult result;
        {
          CachedStatement q = Prepared(kSqlExperimentIdByName);
          SQLite::bind(*q, experiment.name);
          if (q->executeStep()) {
            result.experiment_id = q->getColumn(0).getString();
            if (q->getColumn(1).getString() != experiment.spec_sha256) {
              return absl::AlreadyExistsError(absl::StrCat(
                  "experiment '", experiment.name, "' already exists as ", result.experiment_id,
                  " with a different spec; choose another name"));
            }
          }
        }
        if (!result.experiment_id.empty()) {
          CachedStatement q = Prepared(kSqlSubmittedCounts);
          SQLite::bind(*q, result.experiment_id);
          q->executeStep();
          result.trial_count = q->getColumn(0).getInt64();
          result.reused_trials = q->getColumn(1).getInt64();
          result.already_existed = true;
          return result;
        }

        result.experiment_id = NewExperimentId(experiment);
        int64_t seq = 0;
        {
          CachedStatement q = Prepared(kSqlNextExperimentSeq);
          q->executeStep();
          seq = q->getColumn(0).getInt64();
        }
        {
          CachedStatement u = Prepared(kSqlInsertExperiment);
          SQLite::bind(*u, result.experiment_id, experiment.name, experiment.spec_yaml,
                       experiment.spec_sha256, ExperimentStatusName(ExperimentStatus::kActive),
                       now_ms, seq, experiment.search_json, experiment.model_files_json);
          u->exec();
        }
        ASSIGN_OR_RETURN(const TrialState reused_state,
                         Transition(TrialState::kWaiting, TrialEvent::kReuse));

        for (const NewTrial& trial : experiment.trials) {
          int64_t source = 0;
          int64_t epoch = 0, step = 0, total_steps = 0;
          if (!rerun && !trial.config_sha256.empty()) {
            CachedStatement q = Prepared(kSqlReuseSource);
            SQLite::bind(*q, trial.config_sha256);
            if (q->executeStep()) {
              source = q->getColumn(0).getInt64();
              epoch = q->getColumn(1).getInt64();
              step = q->getColumn(2).getInt64();
              total_steps = q->getColumn(3).getInt64();
            }
          }
          const TrialState state = source != 0 ? reused_state : TrialState::kWaiting;
          const int64_t ended_ms = source != 0 ? now_ms : int64_t{0};
          {
            CachedStatement u = Prepared(kSqlInsertTrial);
            SQLite::bind(*u, result.experiment_id, trial.number, TrialStateName(state),
                         trial.config_json, trial.config_sha256, trial.ranks, trial.device, source,
                         epoch, step, total_steps, now_ms, /*started_ms=*/ended_ms,
                         /*finished_ms=*/ended_ms, seq, trial.stop_after_epoch);
            if (trial.init_from_trial != 0) u->bind(17, trial.init_from_trial);  // else NULL
            u->exec();
          }
          const int64_t trial_id = db_->getLastInsertRowid();
          for (const auto& [name, value] : trial.params) {
            CachedStatement u = Prepared(kSqlInsertParam);
            SQLite::bind(*u, trial_id, name, value);
            u->exec();
          }
          ++result.trial_count;
          if (source != 0) ++result.reused_trials;
        }
        RefreshExperimentStatus(result.experiment_id, now_ms);
        return result;
      });
}

absl::StatusOr<ExperimentRecord> SqliteTrialStore::GetExperiment(const std::string& id_or_name) {
  return InReadTransaction("reading an experiment", [&]() -> absl::StatusOr<ExperimentRecord> {
    ASSIGN_OR_RETURN(const std::string id, ResolveExperimentId(id_or_name));
    return ReadExperiment(id);
  });
}

absl::StatusOr<std::vector<ExperimentRecord>> SqliteTrialStore::ListExperiments(int64_t offset,
                                                                                int64_t limit) {
  return InReadTransaction(
      "listing experiments", [&]() -> absl::StatusOr<std::vector<ExperimentRecord>> {
        std::vector<std::string> ids;
        {
          CachedStatement q = Prepared(kSqlExperimentIdsNewestFirst);
          SQLite::bind(*q, limit > 0 ? limit : int64_t{-1}, offset > 0 ? offset : int64_t{0});
          while (q->executeStep()) ids.push_back(q->getColumn(0).getString());
        }
        std::vector<ExperimentRecord> experiments;
        experiments.reserve(ids.size());
        for (const std::string& id : ids) {
          ASSIGN_OR_RETURN(ExperimentRecord e, ReadExperiment(id));
          experiments.push_back(std::move(e));
        }
        return experiments;
      });
}

absl::StatusOr<std::vector<TrialRecord>> SqliteTrialStore::ListTrials(
    const std::string& id_or_name, const std::vector<TrialState>& states) {
  return InReadTransaction("listing trials", [&]() -> absl::StatusOr<std::vector<TrialRecord>> {
    ASSIGN_OR_RETURN(const std::string id, ResolveExperimentId(id_or_name));
    const std::set<TrialState> wanted(states.begin(), states.end());
    std::vector<TrialRecord> trials;
    std::map<int64_t, size_t> index_of;
    {
      CachedStatement q = Prepared(kSqlTrialsOfExperiment);
      SQLite::bind(*q, id);
      while (q->executeStep()) {
        ASSIGN_OR_RETURN(TrialRecord trial, sqlite_store::TrialFromRow(*q));
        if (!wanted.empty() && wanted.count(trial.state) == 0) continue;
        index_of[trial.trial_id] = trials.size();
        trials.push_back(std::move(trial));
      }
    }
    CachedStatement q = Prepared(kSqlParamsOfExperiment);
    SQLite::bind(*q, id);
    while (q->executeStep()) {
      auto it = index_of.find(q->getColumn(0).getInt64());
      if (it == index_of.end()) continue;
      trials[it->second].params[q->getColumn(1).getString()] = q->getColumn(2).getString();
    }
    return trials;
  });
}

absl::StatusOr<TrialRecord> SqliteTrialStore::GetTrial(int64_t trial_id) {
  return InReadTransaction("reading a trial", [&]() { return ReadTrial(trial_id); });
}

absl::StatusOr<std::pair<int64_t, int64_t>> SqliteTrialStore::CancelExperiment(
    const std::string& id_or_name, int64_t now_ms) {
  return InWriteTransaction(
      absl::StrCat("cancelling experiment '", id_or_name, "'"),
      [&]() -> absl::StatusOr<std::pair<int64_t, int64_t>> {
        ASSIGN_OR_RETURN(const std::string id, ResolveExperimentId(id_or_name));
        ASSIGN_OR_RETURN(const TrialState waiting_to,
                         Transition(TrialState::kWaiting, TrialEvent::kCancel));
        ASSIGN_OR_RETURN(const TrialState running_to,
                         Transition(TrialState::kRunning, TrialEvent::kCancel));
        int64_t cancelled = 0;
        int64_t stopping = 0;
        {
          CachedStatement u = Prepared(kSqlCancelWaiting);
          SQLite::bind(*u, id, TrialStateName(waiting_to),
                       IsTerminal(waiting_to) ? now_ms : int64_t{0});
          cancelled = u->exec();
        }
        {
          CachedStatement u = Prepared(kSqlCancelRunning);
          SQLite::bind(*u, id, TrialStateName(running_to));
          stopping = u->exec();
        }
        // An ACTIVE experiment always has a WAITING or RUNNING trial; a DONE
        // one has nothing left to cancel and stays DONE.
        CachedStatement u = Prepared(kSqlSetExperimentStatus);
        SQLite::bind(*u, id, ExperimentStatusName(ExperimentStatus::kCancelled),
                     ExperimentStatusName(ExperimentStatus::kActive));
        u->exec();
        return std::make_pair(cancelled, stopping);
      });
}

}  // namespace gridrun::coordinator
