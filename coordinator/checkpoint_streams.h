// The two streaming WorkerService RPCs as gRPC callback reactors: no thread
// waits on a stream; each chunk is handled when it arrives (upload) or when
// the previous one was sent (download). Their rules are the proto's
// (SaveCheckpoint, FetchCheckpoint); the unary logic they share lives in
// WorkerServiceImpl.
//
// The pattern for another streaming RPC (e.g. a blob upload/fetch):
//   * client -> server stream: a grpc::ServerReadReactor<Chunk>. The
//     constructor checks auth and calls StartRead(&chunk_); OnReadDone(true)
//     handles one chunk and reads the next, OnReadDone(false) is the end of
//     the stream (commit, then Finish); any error is Finish(status) at once.
//   * server -> client stream: a grpc::ServerWriteReactor<Chunk>. The
//     constructor validates and prepares, then writes the first chunk;
//     OnWriteDone(true) writes the next or calls Finish(OK); false means
//     the client went away (Finish anyway).
//   * OnDone() deletes the reactor. Never block long in a reaction: these
//     run on gRPC's threads (file I/O of one chunk is fine).
//
// Thread-safety: gRPC calls one reaction of a reactor at a time.
#pragma once

#include <grpcpp/support/server_callback.h>

#include "coordinator/worker_service.h"
#include "proto/gridrun.pb.h"

namespace gridrun::coordinator {

// Returns a reactor that deletes itself; `service` must outlive it.
grpc::ServerReadReactor<v1::CheckpointChunk>* StartSaveCheckpoint(
    WorkerServiceImpl* service, grpc::CallbackServerContext* context,
    v1::SaveCheckpointResponse* response);
grpc::ServerWriteReactor<v1::CheckpointChunk>* StartFetchCheckpoint(
    WorkerServiceImpl* service, grpc::CallbackServerContext* context,
    const v1::FetchCheckpointRequest* request);

}  // namespace gridrun::coordinator
