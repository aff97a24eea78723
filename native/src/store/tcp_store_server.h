// The TCP store server: a small key-value service that the ranks of one group use to rendezvous (gloo
// pair addresses, NCCL unique ids, counters, failure flags). It runs on the group's rank 0, on its own
// thread with poll(); blocking GET and WAIT requests are parked until their keys appear or their deadline
// passes, so one waiting client never holds up the others.
//
// Only the group's members get in: every connection first proves it holds the group secret
// (group_auth.h) — the server reads exactly the 64-byte answer from it and nothing else until then, and
// a connection that fails or stalls is closed. Keys are written once (SET on an existing key is
// refused), so no client can overwrite a generation's rendezvous; values, frames, the total held and the
// connections are capped (wire.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include <memory>

#include "store/group_auth.h"
#include "store/socket.h"

namespace tessera::store {

class TcpStoreServer {
 public:
  // Listens on host:port (port 0 picks a free port) and starts serving at once.
  TcpStoreServer(const std::string& host, uint16_t port, std::shared_ptr<const GroupSecret> secret);
  ~TcpStoreServer();
  TcpStoreServer(const TcpStoreServer&) = delete;
  TcpStoreServer& operator=(const TcpStoreServer&) = delete;

  uint16_t Port() const { return port_; }
  // Connections closed because they did not prove the secret in time.
  uint64_t RefusedConnections() const { return refused_.load(); }
  // Closes every connection and joins the serving thread; idempotent.
  void Stop();

 private:
  void Serve();

  UniqueFd listenFd_;
  UniqueFd wakeFd_;  // eventfd that interrupts poll() on Stop()
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> refused_{0};
  std::shared_ptr<const GroupSecret> secret_;
  std::thread thread_;
};

}  // namespace tessera::store
