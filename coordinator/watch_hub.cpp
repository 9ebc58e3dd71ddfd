#include "coordinator/watch_hub.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "coordinator/proto_convert.h"
#include "proto/status_convert.h"

namespace gridrun::coordinator {
namespace {

// One converted trial row, shared by every watcher that sends it.
using SharedTrial = std::shared_ptr<const v1::Trial>;

SharedTrial Convert(const TrialChange& change) {
  auto trial = std::make_shared<v1::Trial>();
  ToProto(change.trial, change.latest_metrics, trial.get());
  return trial;
}

bool IsOpen(TrialState state) {
  return state == TrialState::kWaiting || state == TrialState::kRunning;
}

}  // namespace

// One WatchExperiment stream (the protocol in watch_hub.h). Its own mutex
// guards the queue and what it has sent; gRPC calls are made without it.
class WatchHub::Watcher final : public grpc::ServerWriteReactor<v1::TrialEvent> {
 public:
  Watcher(WatchHub* hub, std::string experiment_id)
      : hub_(hub), experiment_id_(std::move(experiment_id)) {}

  const std::string& experiment_id() const { return experiment_id_; }
  void set_self(std::shared_ptr<Watcher> self) { self_ = std::move(self); }

  // Under the hub's lock. Returns true when something was queued.
  bool OfferSnapshot(const std::vector<std::pair<const TrialChange*, SharedTrial>>& trials,
                     int64_t now_ms) {
    std::lock_guard<std::mutex> lock(mu_);
    if (snapshot_seen_) return false;
    snapshot_seen_ = true;
    for (const auto& [change, proto] : trials) {
      seen_[change->trial.trial_id] = Seen{change->trial.state, change->trial.step,
                                           change->trial.epoch};
      open_ += IsOpen(change->trial.state) ? 1 : 0;
      queue_.push_back(Pending{v1::TrialEvent::SNAPSHOT, proto, now_ms});
    }
    return true;  // an empty snapshot still needs a pump (to end the stream)
  }

  bool OfferChange(const TrialChange& change, const SharedTrial& proto, int64_t now_ms) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!snapshot_seen_ || finished_) return false;
    const TrialRecord& t = change.trial;
    auto it = seen_.find(t.trial_id);
    if (it == seen_.end()) return false;  // not of this experiment's snapshot
    v1::TrialEvent::Kind kind;
    if (it->second.state != t.state) {
      kind = v1::TrialEvent::STATE_CHANGE;
      open_ += (IsOpen(t.state) ? 1 : 0) - (IsOpen(it->second.state) ? 1 : 0);
    } else if (it->second.step != t.step || it->second.epoch != t.epoch) {
      kind = v1::TrialEvent::PROGRESS;
    } else {
      return false;
    }
    it->second = Seen{t.state, t.step, t.epoch};
    if (queue_.size() >= kMaxQueuedEvents) {
      overflow_ = true;
    } else {
      queue_.push_back(Pending{kind, proto, now_ms});
    }
    return true;
  }

  // Without any lock: starts the next write, or ends the stream when due.
  void Pump() {
    grpc::Status finish;
    bool do_finish = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (writing_ || finished_) return;
      if (error_.has_value()) {
        finish = *error_;
      } else if (!snapshot_seen_) {
        return;
      } else if (overflow_) {
        finish = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                              absl::StrCat("watch of ", experiment_id_, " fell more than ",
                                           kMaxQueuedEvents, " events behind; watch again"));
      } else if (!queue_.empty()) {
        Pending next = std::move(queue_.front());
        queue_.pop_front();
        current_.Clear();
        current_.set_kind(next.kind);
        current_.set_time_ms(next.time_ms);
        *current_.mutable_trial() = *next.trial;
        writing_ = true;
      } else if (open_ != 0) {
        return;  // wait for the next commit
      }  // else: everything written and nothing open: finish OK
      if (!writing_) finished_ = do_finish = true;
    }
    if (do_finish) {
      Finish(finish);
    } else {
      StartWrite(&current_);
    }
  }

  // Ends the stream with `status` once no write is in flight.
  void Fail(grpc::Status status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_.has_value()) error_ = std::move(status);
    }
    Pump();
  }

  void OnWriteDone(bool ok) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
      if (!ok && !error_.has_value()) {
        error_ = grpc::Status(grpc::StatusCode::CANCELLED, "the watcher went away");
      }
    }
    Pump();
  }

  void OnCancel() override {
    Fail(grpc::Status(grpc::StatusCode::CANCELLED, "the watcher cancelled"));
  }

  void OnDone() override {
    hub_->Remove(this);
    std::shared_ptr<Watcher> self = std::move(self_);  // may delete this at scope end
  }

 private:
  struct Seen {
    TrialState state;
    int64_t step;
    int64_t epoch;
  };
  struct Pending {
    v1::TrialEvent::Kind kind;
    SharedTrial trial;
    int64_t time_ms;
  };

  WatchHub* const hub_;
  const std::string experiment_id_;
  std::shared_ptr<Watcher> self_;  // keeps the reactor alive until OnDone

  std::mutex mu_;
  bool snapshot_seen_ = false;
  bool writing_ = false;
  bool finished_ = false;  // Finish() called (or about to be)
  std::optional<grpc::Status> error_;  // end with this once nothing is in flight
  bool overflow_ = false;
  int64_t open_ = 0;  // trials WAITING or RUNNING as of the last queued event
  std::map<int64_t, Seen> seen_;
  std::deque<Pending> queue_;
  v1::TrialEvent current_;  // the write in flight
};

WatchHub::WatchHub(TrialStore* store, const Clock* clock) : store_(store), clock_(clock) {
  store_->SetCommitListener(this);
}

WatchHub::~WatchHub() { store_->SetCommitListener(nullptr); }

grpc::ServerWriteReactor<v1::TrialEvent>* WatchHub::Watch(const std::string& experiment_id) {
  auto watcher = std::make_shared<Watcher>(this, experiment_id);
  watcher->set_self(watcher);
  {
    std::lock_guard<std::mutex> lock(mu_);
    by_experiment_[experiment_id].push_back(watcher);
    watchers_.fetch_add(1);
  }
  // From here on the feed is on; the snapshot marks where this watcher's
  // events begin (rule 1).
  absl::Status published = store_->PublishSnapshot(experiment_id);
  if (!published.ok()) {
    spdlog::warn("watch of {}: {}", experiment_id, published.ToString());
    watcher->Fail(ToGrpcStatus(published));  // ends the stream; OnDone removes it
  }
  return watcher.get();
}

void WatchHub::Remove(Watcher* watcher) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_experiment_.find(watcher->experiment_id());
  if (it == by_experiment_.end()) return;
  auto& list = it->second;
  const size_t before = list.size();
  list.erase(std::remove_if(list.begin(), list.end(),
                            [&](const std::shared_ptr<Watcher>& w) { return w.get() == watcher; }),
             list.end());
  watchers_.fetch_sub(static_cast<int>(before - list.size()));
  if (list.empty()) by_experiment_.erase(it);
}

void WatchHub::OnCommitted(std::vector<TrialChange> changes) {
  const int64_t now_ms = clock_->NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  for (const TrialChange& change : changes) {
    auto it = by_experiment_.find(change.trial.experiment_id);
    if (it == by_experiment_.end()) continue;
    const SharedTrial proto = Convert(change);
    for (const std::shared_ptr<Watcher>& w : it->second) {
      if (w->OfferChange(change, proto, now_ms)) to_pump_.push_back(w);
    }
  }
}

void WatchHub::OnSnapshot(const std::string& experiment_id, std::vector<TrialChange> trials) {
  const int64_t now_ms = clock_->NowMs();
  std::vector<std::pair<const TrialChange*, SharedTrial>> converted;
  converted.reserve(trials.size());
  for (const TrialChange& t : trials) converted.emplace_back(&t, Convert(t));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_experiment_.find(experiment_id);
  if (it == by_experiment_.end()) return;
  for (const std::shared_ptr<Watcher>& w : it->second) {
    if (w->OfferSnapshot(converted, now_ms)) to_pump_.push_back(w);
  }
}

void WatchHub::AfterCommit() {
  std::vector<std::shared_ptr<Watcher>> pump;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pump.swap(to_pump_);
  }
  std::sort(pump.begin(), pump.end());
  pump.erase(std::unique(pump.begin(), pump.end()), pump.end());
  for (const std::shared_ptr<Watcher>& w : pump) w->Pump();
}

}  // namespace gridrun::coordinator
