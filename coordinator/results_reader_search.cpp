// ResultsReader, early stopping: a trial's arrivals at ASHA rungs and the
// decisions its experiment's scheduler and stop rules made about it (schema
// v6: rung_results, search_decisions), for the dashboard's trial page.
#include "coordinator/results_reader.h"

namespace gridrun::coordinator {
namespace {

constexpr char kSqlRungsOfTrial[] =
    "SELECT rung, seq, epoch, value, promoted, arrived_ms FROM rung_results "
    "WHERE trial_id = ?1 ORDER BY rung";
constexpr char kSqlDecisionsOfTrial[] =
    "SELECT d.decision_id, d.trial_id, t.number, d.kind, d.rung, d.epoch, d.reason, "
    "       d.decided_ms "
    "FROM search_decisions AS d JOIN trials AS t ON t.trial_id = d.trial_id "
    "WHERE d.trial_id = ?1 ORDER BY d.decision_id";

}  // namespace

void ResultsReader::FillSearchLocked(TrialDetail* detail) {
  SQLite::Statement rungs(*db_, kSqlRungsOfTrial);
  rungs.bind(1, detail->row.trial_id);
  while (rungs.executeStep()) {
    RungArrival arrival;
    arrival.rung = rungs.getColumn(0).getInt();
    arrival.seq = rungs.getColumn(1).getInt64();
    arrival.epoch = rungs.getColumn(2).getInt64();
    if (!rungs.getColumn(3).isNull()) arrival.value = rungs.getColumn(3).getDouble();
    arrival.promoted = rungs.getColumn(4).getInt() != 0;
    arrival.arrived_ms = rungs.getColumn(5).getInt64();
    detail->rungs.push_back(arrival);
  }
  SQLite::Statement decisions(*db_, kSqlDecisionsOfTrial);
  decisions.bind(1, detail->row.trial_id);
  while (decisions.executeStep()) {
    SearchDecisionRecord d;
    d.decision_id = decisions.getColumn(0).getInt64();
    d.trial_id = decisions.getColumn(1).getInt64();
    d.number = decisions.getColumn(2).getInt64();
    d.kind = decisions.getColumn(3).getString();
    d.rung = decisions.getColumn(4).getInt();
    d.epoch = decisions.getColumn(5).getInt64();
    d.reason = decisions.getColumn(6).getString();
    d.decided_ms = decisions.getColumn(7).getInt64();
    detail->decisions.push_back(std::move(d));
  }
}

}  // namespace gridrun::coordinator
