// A client of the TCP store. One connection, one request at a time (a mutex serializes callers), so
// give each blocking user (a communicator's rendezvous, the JS store object) its own client. It also
// implements gloo::rendezvous::Store: gloo's connectFullMesh reads peer keys with get() without waiting
// first, so get() blocks until the key exists or the client's timeout passes.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <gloo/rendezvous/store.h>

#include <memory>

#include "store/group_auth.h"
#include "store/socket.h"
#include "store/wire.h"

namespace tessera::store {

// Where a store lives and how long its users wait; copied into every client a communicator opens.
struct StoreAddress {
  std::string host;
  uint16_t port = 0;
  std::chrono::milliseconds timeout{30'000};  // connect retries and blocking get/wait
  // The group's secret: every connection proves it before its first request (group_auth.h).
  std::shared_ptr<const GroupSecret> secret;
};

// A blocking get/wait that ran past its timeout (the key never appeared).
class StoreTimeout : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class TcpStoreClient : public gloo::rendezvous::Store {
 public:
  // Connects, retrying while the server is not up yet, for at most address.timeout, then proves the
  // group secret and checks the server's proof (AuthError when either side does not hold it).
  explicit TcpStoreClient(const StoreAddress& address);

  const StoreAddress& Address() const { return address_; }

  void Set(const std::string& key, const std::vector<char>& value);
  std::vector<char> Get(const std::string& key, std::chrono::milliseconds timeout);
  int64_t Add(const std::string& key, int64_t delta);
  void Wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout);
  bool Delete(const std::string& key);
  bool Check(const std::string& key);

  // gloo::rendezvous::Store
  void set(const std::string& key, const std::vector<char>& data) override { Set(key, data); }
  std::vector<char> get(const std::string& key) override { return Get(key, address_.timeout); }
  void wait(const std::vector<std::string>& keys) override { Wait(keys, address_.timeout); }
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override { Wait(keys, timeout); }

 private:
  // Sends one request and returns the reply body; serverWaitMs is how long the server may hold it.
  std::vector<char> Call(const std::vector<char>& request, std::chrono::milliseconds serverWait);
  static void CheckKey(const std::string& key);

  StoreAddress address_;
  std::mutex mutex_;
  UniqueFd fd_;
};

}  // namespace tessera::store
