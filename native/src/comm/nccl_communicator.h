// The GPU backend: NCCL loaded with dlopen, one rank per GPU, the unique id shared through the TCP store.
//
// A lane thread enqueues each operation on the communicator's CUDA stream in call order (NCCL requires
// the same order on every rank) and records an event after it; a watchdog thread polls those events and
// ncclCommGetAsyncError, resolves operations as they finish, and on an error or when an operation
// outlives the timeout calls ncclCommAbort (NCCL has no timeouts of its own), failing everything pending.
// Tags of send/recv are accepted for API parity but NCCL matches transfers by order per peer pair; use
// Exchange for cyclic patterns, which puts all its transfers in one ncclGroupStart/End.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "comm/communicator.h"
#include "store/tcp_store_client.h"

namespace tessera::comm {

struct NcclOptions {
  store::StoreAddress store;
  std::string prefix;  // unique per communicator and generation
  int rank = 0;
  int size = 1;
  int cudaDevice = 0;
  std::chrono::milliseconds timeout{30'000};
};

// Loads NCCL, shares the unique id and runs ncclCommInitRank (blocks until every rank joined).
std::unique_ptr<Communicator> ConnectNccl(const NcclOptions& options);

}  // namespace tessera::comm
