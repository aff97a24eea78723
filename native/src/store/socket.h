// Small POSIX socket helpers for the TCP store: an owning descriptor, listen/connect, and exact reads and
// writes bounded by a deadline (poll-based, so nothing can block past it).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace tessera::store {

using Clock = std::chrono::steady_clock;

// A socket failure: refused, reset, closed by the peer, or a deadline passed.
class SocketError : public std::runtime_error {
 public:
  SocketError(const std::string& message, bool timedOut = false) : std::runtime_error(message), timedOut_(timedOut) {}
  bool TimedOut() const { return timedOut_; }

 private:
  bool timedOut_;
};

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = other.Release();
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int Get() const { return fd_; }
  bool Valid() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset();

 private:
  int fd_ = -1;
};

// Binds and listens on host:port (port 0 picks a free one); returns the socket and the bound port.
UniqueFd ListenTcp(const std::string& host, uint16_t port, uint16_t* boundPort);

// Connects to host:port, retrying refused/unreachable attempts with growing pauses until the deadline,
// so clients may start before the server. Throws SocketError naming the address and the last errno.
UniqueFd ConnectTcpWithRetry(const std::string& host, uint16_t port, Clock::time_point deadline);

// Writes all bytes or throws; fails with a timeout once the deadline passes.
void WriteAll(int fd, const void* data, std::size_t size, Clock::time_point deadline);

// Reads exactly size bytes or throws (peer closed, error, deadline).
void ReadExact(int fd, void* data, std::size_t size, Clock::time_point deadline);

void SetNonBlocking(int fd, bool nonBlocking);

}  // namespace tessera::store
