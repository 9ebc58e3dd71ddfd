// Conversions between the store's records and the wire messages.
// Thread-safe (pure functions).
#pragma once

#include "coordinator/trial_store.h"
#include "proto/gridrun.pb.h"

namespace gridrun::coordinator {

v1::TrialState ToProto(TrialState state);
TrialState FromProto(v1::TrialState state);  // UNSPECIFIED maps to kWaiting
v1::ExperimentStatus ToProto(ExperimentStatus status);

void ToProto(const ExperimentRecord& record, v1::Experiment* out);
// `latest_metrics` may be empty when not needed.
void ToProto(const TrialRecord& record, const std::map<std::string, double>& latest_metrics,
             v1::Trial* out);

}  // namespace gridrun::coordinator
