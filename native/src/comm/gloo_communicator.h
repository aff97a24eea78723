// The CPU backend: gloo over TCP, rendezvous through the TCP store.
//
// Concurrency (gloo contexts are not safe for concurrent collectives): each communicator owns two gloo
// contexts over the same ranks, rendezvoused under "<prefix>/coll" and "<prefix>/p2p". Collectives run
// one at a time, in call order, on a single lane thread over the first. Send/recv use unbound buffers
// of the second: they are posted at once, in call order, from the calling thread (posting never
// blocks), and waited on by a small pool of waiter threads, so transfers overlap with collectives and
// with each other, and tags map to gloo slots without colliding with the collectives' slots.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "comm/communicator.h"
#include "store/tcp_store_client.h"

namespace tessera::comm {

struct GlooOptions {
  store::StoreAddress store;  // its secret also authenticates every pair connection
  std::string prefix;  // unique per communicator and generation: the store keys live under it
  int rank = 0;
  int size = 1;
  std::chrono::milliseconds timeout{30'000};  // rendezvous, and every operation
  std::string host = "127.0.0.1";             // this rank's address as the other ranks reach it
};

// Rendezvous with the other ranks (blocks up to the timeout); throws with the reason on failure.
std::unique_ptr<Communicator> ConnectGloo(const GlooOptions& options);

}  // namespace tessera::comm
