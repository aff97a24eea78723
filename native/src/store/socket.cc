#include "store/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

namespace tessera::store {

namespace {

std::string ErrnoText(int err) { return std::string(std::strerror(err)); }

struct AddrInfoDeleter {
  void operator()(addrinfo* p) const { freeaddrinfo(p); }
};
using AddrInfoPtr = std::unique_ptr<addrinfo, AddrInfoDeleter>;

AddrInfoPtr Resolve(const std::string& host, uint16_t port, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (passive) hints.ai_flags = AI_PASSIVE;
  addrinfo* result = nullptr;
  const std::string service = std::to_string(port);
  const int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &result);
  if (rc != 0) throw SocketError("cannot resolve " + host + ": " + gai_strerror(rc));
  return AddrInfoPtr(result);
}

int RemainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
}

// Waits until fd is ready for `events`; throws a timeout SocketError at the deadline.
void PollUntil(int fd, short events, Clock::time_point deadline, const char* what) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int ms = RemainingMs(deadline);
    const int rc = poll(&p, 1, ms);
    if (rc > 0) return;
    if (rc == 0) throw SocketError(std::string("store ") + what + " timed out", true);
    if (errno != EINTR) throw SocketError(std::string("store poll failed: ") + ErrnoText(errno));
  }
}

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace

void UniqueFd::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void SetNonBlocking(int fd, bool nonBlocking) {
  const int flags = fcntl(fd, F_GETFL, 0);
  if (flags < 0) throw SocketError("fcntl failed: " + ErrnoText(errno));
  const int next = nonBlocking ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (fcntl(fd, F_SETFL, next) < 0) throw SocketError("fcntl failed: " + ErrnoText(errno));
}

UniqueFd ListenTcp(const std::string& host, uint16_t port, uint16_t* boundPort) {
  AddrInfoPtr addrs = Resolve(host, port, true);
  int lastErr = 0;
  for (addrinfo* a = addrs.get(); a != nullptr; a = a->ai_next) {
    UniqueFd fd(socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (!fd.Valid()) {
      lastErr = errno;
      continue;
    }
    int one = 1;
    setsockopt(fd.Get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd.Get(), a->ai_addr, a->ai_addrlen) != 0 || listen(fd.Get(), 512) != 0) {
      lastErr = errno;
      continue;
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof(bound);
    getsockname(fd.Get(), reinterpret_cast<sockaddr*>(&bound), &len);
    *boundPort = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                             : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    return fd;
  }
  throw SocketError("store server cannot listen on " + host + ":" + std::to_string(port) + ": " + ErrnoText(lastErr));
}

UniqueFd ConnectTcpWithRetry(const std::string& host, uint16_t port, Clock::time_point deadline) {
  auto pause = std::chrono::milliseconds(20);
  std::string lastError = "no attempt";
  for (;;) {
    try {
      AddrInfoPtr addrs = Resolve(host, port, false);
      for (addrinfo* a = addrs.get(); a != nullptr; a = a->ai_next) {
        UniqueFd fd(socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
        if (!fd.Valid()) {
          lastError = ErrnoText(errno);
          continue;
        }
        SetNonBlocking(fd.Get(), true);
        int rc = connect(fd.Get(), a->ai_addr, a->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
          pollfd p{fd.Get(), POLLOUT, 0};
          rc = poll(&p, 1, std::max(1, std::min(RemainingMs(deadline), 2000)));
          int err = 0;
          socklen_t len = sizeof(err);
          if (rc > 0) getsockopt(fd.Get(), SOL_SOCKET, SO_ERROR, &err, &len);
          rc = (rc > 0 && err == 0) ? 0 : -1;
          errno = rc == 0 ? 0 : (err != 0 ? err : ETIMEDOUT);
        }
        if (rc == 0) {
          SetNonBlocking(fd.Get(), false);
          SetNoDelay(fd.Get());
          return fd;
        }
        lastError = ErrnoText(errno);
      }
    } catch (const SocketError& e) {
      lastError = e.what();  // name resolution may also come up late in a new pod
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      throw SocketError("cannot connect to the store at " + host + ":" + std::to_string(port) + " before the deadline (last error: " +
                            lastError + ")",
                        true);
    }
    // The last pause is cut short so one final attempt happens right at the deadline.
    std::this_thread::sleep_for(std::min<Clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::milliseconds(500));
  }
}

void WriteAll(int fd, const void* data, std::size_t size, Clock::time_point deadline) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    PollUntil(fd, POLLOUT, deadline, "write");
    const ssize_t n = ::send(fd, p, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      throw SocketError("store connection write failed: " + ErrnoText(errno));
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

void ReadExact(int fd, void* data, std::size_t size, Clock::time_point deadline) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    PollUntil(fd, POLLIN, deadline, "read");
    const ssize_t n = ::recv(fd, p, size, MSG_DONTWAIT);
    if (n == 0) throw SocketError("store connection closed by the peer");
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      throw SocketError("store connection read failed: " + ErrnoText(errno));
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace tessera::store
