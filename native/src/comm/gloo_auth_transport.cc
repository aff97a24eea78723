#include "comm/gloo_auth_transport.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gloo/transport/tcp/context.h>
#include <gloo/transport/tcp/device.h>
#include <gloo/transport/tcp/pair.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace tessera::comm {

namespace {

namespace tcp = gloo::transport::tcp;
using store::AuthPurpose;
using store::GroupSecret;

// Connections a listening pair authenticates at once; one more evicts the oldest (a stranger that
// connected and went quiet), so a handful of idle sockets can neither exhaust memory nor lock out the peer.
constexpr std::size_t kCandidateSlots = 8;

// Reads up to `want` more bytes into buf[have..]; false when the peer closed or failed.
bool ReadMore(int fd, unsigned char* buf, std::size_t& have, std::size_t want) {
  while (have < want) {
    const ssize_t n = ::recv(fd, buf + have, want - have, MSG_DONTWAIT);
    if (n > 0) {
      have += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
  return true;
}

// Small messages on a fresh connection always fit the socket buffer; anything less is a failure.
bool SendAll(int fd, const unsigned char* data, std::size_t size) {
  return ::send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT) == static_cast<ssize_t>(size);
}

class AuthPair final : public tcp::Pair {
 public:
  AuthPair(tcp::Context* context, tcp::Device* device, int rank, std::chrono::milliseconds timeout,
           std::shared_ptr<const GroupSecret> secret)
      : tcp::Pair(context, device, rank, timeout), secret_(std::move(secret)) {
    std::lock_guard<std::mutex> lock(m_);
    for (std::size_t i = 0; i < candidates_.size(); ++i) candidates_[i].owner = this;
    // The base constructor registered the listening socket with the loop before this object's handler
    // took over; a connection accepted in that instant bypassed the check, so fail rather than use it.
    if (state_ != LISTENING) {
      signalException("a connection was accepted before authentication was in place");
      return;
    }
    // Accepting must never block the loop (a client may reset between poll and accept).
    const int flags = fcntl(fd_, F_GETFL);
    if (flags >= 0) fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
  }

  ~AuthPair() override {
    std::lock_guard<std::mutex> lock(m_);
    DropCandidates();
  }

  void handleEvents(int events) override {
    std::unique_lock<std::mutex> lock(m_, std::try_to_lock);
    if (!lock) return;  // another thread holds the pair; the level-triggered loop calls again
    if (state_ == CONNECTED) return handleReadWrite(events);
    if (state_ == LISTENING) return AcceptCandidate();
    if (state_ == CONNECTING) return Connecting(events);
  }

 protected:
  void changeState(state next) noexcept override {
    if (next == CLOSED) DropCandidates();
    tcp::Pair::changeState(next);
  }

 private:
  // One accepted connection that has not proved the secret yet.
  struct Candidate final : tcp::Handler {
    AuthPair* owner = nullptr;
    int fd = -1;
    uint64_t order = 0;
    store::Nonce challenge{};
    std::array<unsigned char, store::kAnswerBytes> answer{};
    std::size_t have = 0;
    // Stale events for a slot that was closed or reused in the same loop tick are harmless: every step
    // rereads the state and uses non-blocking calls.
    void handleEvents(int) override { owner->OnCandidate(*this); }
  };

  void AcceptCandidate() {
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    Candidate* slot = nullptr;
    for (Candidate& c : candidates_) {
      if (c.fd < 0) {
        slot = &c;
        break;
      }
      if (!slot || c.order < slot->order) slot = &c;
    }
    if (slot->fd >= 0) CloseCandidate(*slot);
    slot->fd = fd;
    slot->order = ++accepted_;
    slot->have = 0;
    slot->challenge = store::RandomNonce();
    const auto hello = store::Hello(slot->challenge);
    if (!SendAll(fd, hello.data(), hello.size())) return CloseCandidate(*slot);
    device_->registerDescriptor(fd, EPOLLIN, slot);
  }

  void OnCandidate(Candidate& c) {
    std::unique_lock<std::mutex> lock(m_, std::try_to_lock);
    if (!lock || c.fd < 0) return;
    if (state_ != LISTENING) return CloseCandidate(c);
    if (!ReadMore(c.fd, c.answer.data(), c.have, c.answer.size())) return CloseCandidate(c);
    if (c.have < c.answer.size()) return;
    store::Proof proof{};
    try {
      proof = store::CheckAnswer(*secret_, AuthPurpose::kGloo, c.challenge, c.answer.data());
    } catch (const std::exception&) {
      return CloseCandidate(c);  // a stranger: closed without a word, the pair keeps listening
    }
    if (!SendAll(c.fd, proof.data(), proof.size())) return CloseCandidate(c);
    // The peer proved itself: it becomes the pair's connection, and gloo takes over from here.
    const int fd = c.fd;
    device_->unregisterDescriptor(fd, &c);
    c.fd = -1;
    DropCandidates();
    device_->unregisterDescriptor(fd_, this);
    ::close(fd_);
    fd_ = fd;
    handleConnected();
  }

  // The connecting side: answer the listener's challenge, then check its proof.
  void Connecting(int events) {
    if (step_ == Step::kConnect) {
      int error = 0;
      socklen_t length = sizeof(error);
      if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
        return signalException(std::string("connect to ") + peer_.str() + ": " + std::strerror(error));
      }
      if (!(events & (EPOLLIN | EPOLLOUT))) return;
      step_ = Step::kHello;
      device_->registerDescriptor(fd_, EPOLLIN, this);  // nothing more to write until the hello is in
    }
    if (step_ == Step::kHello) {
      if (!ReadMore(fd_, hello_.data(), helloHave_, hello_.size())) return Refused("no challenge, the peer closed");
      if (helloHave_ < hello_.size()) return;
      try {
        client_ = store::AnswerHello(*secret_, AuthPurpose::kGloo, hello_.data());
      } catch (const std::exception& e) {
        return Refused(e.what());
      }
      if (!SendAll(fd_, client_.answer.data(), client_.answer.size())) return Refused("could not send the answer");
      step_ = Step::kProof;
    }
    if (!ReadMore(fd_, proof_.data(), proofHave_, proof_.size())) {
      return Refused("the peer closed instead of answering: the group secret differs");
    }
    if (proofHave_ < proof_.size()) return;
    try {
      store::CheckServerProof(*secret_, AuthPurpose::kGloo, client_, proof_.data());
    } catch (const std::exception& e) {
      return Refused(e.what());
    }
    handleConnected();
  }

  void Refused(const std::string& why) {
    signalException("gloo connection to " + peer_.str() + " not authenticated: " + why);
  }

  void CloseCandidate(Candidate& c) {
    if (c.fd < 0) return;
    device_->unregisterDescriptor(c.fd, &c);
    ::close(c.fd);
    c.fd = -1;
  }

  void DropCandidates() {
    for (Candidate& c : candidates_) CloseCandidate(c);
  }

  enum class Step { kConnect, kHello, kProof };

  std::shared_ptr<const GroupSecret> secret_;
  std::array<Candidate, kCandidateSlots> candidates_{};
  uint64_t accepted_ = 0;
  Step step_ = Step::kConnect;
  std::array<unsigned char, store::kHelloBytes> hello_{};
  std::size_t helloHave_ = 0;
  store::ClientStep client_{};
  std::array<unsigned char, store::kProofBytes> proof_{};
  std::size_t proofHave_ = 0;
};

class AuthContext final : public tcp::Context {
 public:
  AuthContext(std::shared_ptr<tcp::Device> device, int rank, int size, std::shared_ptr<const GroupSecret> secret)
      : tcp::Context(std::move(device), rank, size), secret_(std::move(secret)) {}

  std::unique_ptr<gloo::transport::Pair>& createPair(int rank) override {
    pairs_[rank] = std::unique_ptr<gloo::transport::Pair>(new AuthPair(this, device_.get(), rank, getTimeout(), secret_));
    return pairs_[rank];
  }

 private:
  std::shared_ptr<const GroupSecret> secret_;
};

class AuthDevice final : public tcp::Device {
 public:
  AuthDevice(const tcp::attr& attr, std::shared_ptr<const GroupSecret> secret)
      : tcp::Device(attr), secret_(std::move(secret)) {}

  std::shared_ptr<gloo::transport::Context> createContext(int rank, int size) override {
    return std::shared_ptr<gloo::transport::Context>(new AuthContext(shared_from_this(), rank, size, secret_));
  }

 private:
  std::shared_ptr<const GroupSecret> secret_;
};

}  // namespace

std::shared_ptr<gloo::transport::Device> CreateAuthenticatedDevice(const std::string& host,
                                                                   std::shared_ptr<const GroupSecret> secret) {
  tcp::attr attr;
  attr.hostname = host;
  return std::make_shared<AuthDevice>(tcp::CreateDeviceAttr(attr), std::move(secret));
}

}  // namespace tessera::comm
