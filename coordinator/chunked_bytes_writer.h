// The write half shared by the coordinator's download streams
// (FetchCheckpoint in checkpoint_streams.cpp, FetchTorchScript in
// torchscript_streams.cpp): a gRPC callback reactor that sends one byte
// string as chunks of at most kStreamChunkBytes, the first chunk carrying
// the header the subclass put in chunk_ (an empty string is one chunk).
//
// A subclass prepares bytes_ and chunk_'s header in its constructor, then
// calls Start(status): an error finishes the call with it, OK starts
// writing. The reactor deletes itself when the call is done.
//
// Thread-safety: gRPC calls one reaction of a reactor at a time.
#pragma once

#include <grpcpp/support/server_callback.h>

#include <algorithm>
#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "coordinator/status_util.h"

namespace gridrun::coordinator {

inline constexpr size_t kStreamChunkBytes = size_t{1} << 20;

template <typename Chunk>
class ChunkedBytesWriter : public grpc::ServerWriteReactor<Chunk> {
 public:
  void OnWriteDone(bool ok) override {
    if (!ok || offset_ >= bytes_.size()) {
      this->Finish(grpc::Status::OK);  // done, or the client went away
      return;
    }
    WriteNext();
  }

  void OnDone() override { delete this; }

 protected:
  void Start(const absl::Status& prepared) {
    if (!prepared.ok()) {
      this->Finish(ToGrpcStatus(prepared));
      return;
    }
    WriteNext();
  }

  std::string bytes_;
  Chunk chunk_;

 private:
  void WriteNext() {
    const size_t n = std::min(kStreamChunkBytes, bytes_.size() - offset_);
    if (offset_ > 0) chunk_.clear_header();
    chunk_.set_data(bytes_.substr(offset_, n));
    offset_ += n;
    if (n == 0) offset_ = bytes_.size() + 1;  // an empty string is one chunk
    this->StartWrite(&chunk_);
  }

  size_t offset_ = 0;
};

}  // namespace gridrun::coordinator
