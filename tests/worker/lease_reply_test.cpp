// The lease as rank 0 broadcasts it: a serialized LeaseTrialResponse that
// every rank reads back with DecodeLeaseReply (worker/coordinator_client.h).
#include <gtest/gtest.h>

#include <string>

#include "proto/gridrun.pb.h"
#include "worker/coordinator_client.h"

namespace gridrun::worker {
namespace {
namespace lease_reply_test {

TEST(LeaseReplyTest, LeaseReadsBackWithEveryField) {
  v1::LeaseTrialResponse response;
  v1::TrialLease* lease = response.mutable_lease();
  lease->set_trial_id(42);
  lease->set_experiment_id("exp-7");
  lease->set_attempt(3);
  lease->set_config_json(R"({"model":"dcgan","latent_size":64})");
  lease->set_lease_expires_ms(1'700'000'000'123);
  lease->mutable_checkpoint()->set_step(900);
  lease->mutable_checkpoint()->set_epoch(4);
  const std::string bytes = response.SerializeAsString();

  absl::StatusOr<LeaseReply> reply = DecodeLeaseReply(bytes);
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_TRUE(reply->trial.has_value());
  const LeasedTrial& trial = *reply->trial;
  EXPECT_EQ(trial.trial_id, 42);
  EXPECT_EQ(trial.experiment_id, "exp-7");
  EXPECT_EQ(trial.attempt, 3);
  EXPECT_EQ(trial.config_json, R"({"model":"dcgan","latent_size":64})");
  EXPECT_EQ(trial.lease_expires_ms, 1'700'000'000'123);
  EXPECT_TRUE(trial.has_checkpoint);
  EXPECT_EQ(trial.checkpoint_step, 900);
  EXPECT_EQ(trial.checkpoint_epoch, 4);
  EXPECT_EQ(reply->retry_after_ms, 0);
  // The bytes travel on unchanged: a rank that decodes them can pass them on.
  EXPECT_EQ(reply->serialized, bytes);
}

TEST(LeaseReplyTest, LeaseWithoutCheckpoint) {
  v1::LeaseTrialResponse response;
  response.mutable_lease()->set_trial_id(1);
  absl::StatusOr<LeaseReply> reply = DecodeLeaseReply(response.SerializeAsString());
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_TRUE(reply->trial.has_value());
  EXPECT_FALSE(reply->trial->has_checkpoint);
  EXPECT_EQ(reply->trial->checkpoint_step, 0);
}

TEST(LeaseReplyTest, NoLeaseMeansNoTrial) {
  // What rank 0 broadcasts to end the job: no bytes at all.
  absl::StatusOr<LeaseReply> exit = DecodeLeaseReply("");
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_FALSE(exit->trial.has_value());

  v1::LeaseTrialResponse idle;
  idle.set_retry_after_ms(250);
  absl::StatusOr<LeaseReply> wait = DecodeLeaseReply(idle.SerializeAsString());
  ASSERT_TRUE(wait.ok()) << wait.status();
  EXPECT_FALSE(wait->trial.has_value());
  EXPECT_EQ(wait->retry_after_ms, 250);
}

TEST(LeaseReplyTest, UnreadableBytesAreInvalidArgument) {
  // Field 1 (the lease) claims 5 bytes and has 2.
  absl::StatusOr<LeaseReply> truncated = DecodeLeaseReply(std::string{'\x0a', '\x05', 'a', 'b'});
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(truncated.status().message().find("LeaseTrialResponse"), std::string::npos)
      << truncated.status();
}

}  // namespace lease_reply_test
}  // namespace
}  // namespace gridrun::worker
