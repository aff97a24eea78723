// The TCP store server: a small key-value service that the ranks of one group use to rendezvous (gloo
// pair addresses, NCCL unique ids, counters, failure flags). It runs on the group's rank 0, on its own
// thread with poll(); blocking GET and WAIT requests are parked until their keys appear or their deadline
// passes, so one waiting client never holds up the others.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "store/socket.h"

namespace tessera::store {

class TcpStoreServer {
 public:
  // Listens on host:port (port 0 picks a free port) and starts serving at once.
  TcpStoreServer(const std::string& host, uint16_t port);
  ~TcpStoreServer();
  TcpStoreServer(const TcpStoreServer&) = delete;
  TcpStoreServer& operator=(const TcpStoreServer&) = delete;

  uint16_t Port() const { return port_; }
  // Closes every connection and joins the serving thread; idempotent.
  void Stop();

 private:
  void Serve();

  UniqueFd listenFd_;
  UniqueFd wakeFd_;  // eventfd that interrupts poll() on Stop()
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace tessera::store
