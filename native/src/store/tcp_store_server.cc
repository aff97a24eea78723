#include "store/tcp_store_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

#include "store/wire.h"

namespace tessera::store {

namespace {

// A GET or WAIT that cannot be answered yet.
struct ParkedRequest {
  Opcode op;
  std::vector<std::string> keys;
  Clock::time_point deadline;
};

// A connection that has not proved the secret within this long is closed.
constexpr std::chrono::seconds kAuthTimeout{10};

struct Connection {
  UniqueFd fd;
  // Until `authed`, only the fixed-size answer to our challenge is read from it.
  bool authed = false;
  Nonce challenge{};
  Clock::time_point authDeadline{};
  std::vector<char> in;
  std::vector<char> out;
  std::size_t outPos = 0;
  std::optional<ParkedRequest> parked;
  bool closeAfterFlush = false;
  bool dead = false;
};

using KeyValues = std::unordered_map<std::string, std::vector<char>>;

// The held data and its size, for the total cap.
struct Held {
  KeyValues kv;
  std::size_t bytes = 0;
};

std::vector<char> ErrorReply(const std::string& message) {
  return FrameWriter().U8(static_cast<uint8_t>(ReplyStatus::kError)).Str(message).Finish();
}

std::vector<char> OkReply() { return FrameWriter().U8(static_cast<uint8_t>(ReplyStatus::kOk)).Finish(); }

std::vector<char> TimeoutReply() { return FrameWriter().U8(static_cast<uint8_t>(ReplyStatus::kTimeout)).Finish(); }

void Append(Connection& c, const std::vector<char>& frame) { c.out.insert(c.out.end(), frame.begin(), frame.end()); }

Clock::time_point DeadlineAfter(uint32_t timeoutMs) { return Clock::now() + std::chrono::milliseconds(timeoutMs); }

// Answers a parked request if all its keys exist (or its deadline passed); returns whether it did.
bool TryAnswer(Connection& c, const KeyValues& kv, Clock::time_point now) {
  const ParkedRequest& req = *c.parked;
  const bool ready = std::all_of(req.keys.begin(), req.keys.end(), [&](const std::string& k) { return kv.count(k) > 0; });
  if (ready) {
    if (req.op == Opcode::kGet) {
      const std::vector<char>& v = kv.at(req.keys.front());
      Append(c, FrameWriter().U8(static_cast<uint8_t>(ReplyStatus::kOk)).Bytes(v.data(), v.size()).Finish());
    } else {
      Append(c, OkReply());
    }
  } else if (now >= req.deadline) {
    Append(c, TimeoutReply());
  } else {
    return false;
  }
  c.parked.reset();
  return true;
}

int64_t ParseCounter(const std::vector<char>& value, const std::string& key) {
  int64_t n = 0;
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(value.data(), end, n);
  if (ec != std::errc() || ptr != end) throw ProtocolError("store key '" + key + "' holds a value that is not a counter");
  return n;
}

// A refusal that leaves the stream in step: answered, and the connection stays open.
void Refuse(Connection& c, const std::string& message) { Append(c, ErrorReply(message)); }

// Executes one request frame; either appends a reply or parks the connection.
void Handle(Connection& c, FrameReader r, Held& held) {
  KeyValues& kv = held.kv;
  const auto op = static_cast<Opcode>(r.U8());
  switch (op) {
    case Opcode::kSet: {
      std::string key = r.Str(kMaxKeyBytes);
      std::vector<char> value = r.Blob(kMaxValueBytes);
      r.ExpectEnd();
      if (kv.count(key) > 0) {
        // Rendezvous keys are written once per generation; a second writer is a stale or foreign rank.
        return Refuse(c, "store key '" + key + "' is already set; keys are written once");
      }
      if (held.bytes + key.size() + value.size() > kMaxStoreBytes) {
        return Refuse(c, "the store holds " + std::to_string(held.bytes) + " bytes, its cap is " + std::to_string(kMaxStoreBytes));
      }
      held.bytes += key.size() + value.size();
      kv.emplace(std::move(key), std::move(value));
      Append(c, OkReply());
      return;
    }
    case Opcode::kGet: {
      std::string key = r.Str(kMaxKeyBytes);
      const uint32_t timeoutMs = r.U32();
      r.ExpectEnd();
      c.parked = ParkedRequest{op, {std::move(key)}, DeadlineAfter(timeoutMs)};
      TryAnswer(c, kv, Clock::now());
      return;
    }
    case Opcode::kAdd: {
      std::string key = r.Str(kMaxKeyBytes);
      const int64_t delta = r.I64();
      r.ExpectEnd();
      auto it = kv.find(key);
      const int64_t next = (it == kv.end() ? 0 : ParseCounter(it->second, key)) + delta;
      const std::string text = std::to_string(next);
      const std::size_t before = it == kv.end() ? 0 : key.size() + it->second.size();
      if (held.bytes - before + key.size() + text.size() > kMaxStoreBytes) {
        return Refuse(c, "the store holds " + std::to_string(held.bytes) + " bytes, its cap is " + std::to_string(kMaxStoreBytes));
      }
      held.bytes = held.bytes - before + key.size() + text.size();
      kv[std::move(key)] = std::vector<char>(text.begin(), text.end());
      Append(c, FrameWriter().U8(static_cast<uint8_t>(ReplyStatus::kOk)).I64(next).Finish());
      return;
    }
    case Opcode::kWait: {
      const uint32_t n = r.U32();
      if (n > kMaxKeysPerWait) throw ProtocolError("store WAIT names " + std::to_string(n) + " keys, more than the limit");
      std::vector<std::string> keys;
      keys.reserve(n);
      for (uint32_t i = 0; i < n; ++i) keys.push_back(r.Str(kMaxKeyBytes));
      const uint32_t timeoutMs = r.U32();
      r.ExpectEnd();
      c.parked = ParkedRequest{op, std::move(keys), DeadlineAfter(timeoutMs)};
      TryAnswer(c, kv, Clock::now());
      return;
    }
    case Opcode::kDelete:
    case Opcode::kCheck: {
      const std::string key = r.Str(kMaxKeyBytes);
      r.ExpectEnd();
      auto it = kv.find(key);
      const bool existed = it != kv.end();
      if (existed && op == Opcode::kDelete) {
        held.bytes -= key.size() + it->second.size();
        kv.erase(it);
      }
      Append(c, FrameWriter().U8(static_cast<uint8_t>(ReplyStatus::kOk)).U8(existed ? 1 : 0).Finish());
      return;
    }
  }
  throw ProtocolError("unknown store opcode " + std::to_string(static_cast<int>(op)));
}

// Runs every complete frame buffered on c until it parks or runs out of input.
void Drain(Connection& c, Held& held) {
  if (!c.authed) return;
  std::size_t pos = 0;
  while (!c.parked && !c.closeAfterFlush && c.in.size() - pos >= kFrameHeaderBytes) {
    try {
      const uint32_t len = DecodeFrameLength(c.in.data() + pos);
      if (c.in.size() - pos - kFrameHeaderBytes < len) break;
      Handle(c, FrameReader(c.in.data() + pos + kFrameHeaderBytes, len), held);
      pos += kFrameHeaderBytes + len;
    } catch (const std::exception& e) {
      // A malformed frame desynchronizes the stream: answer once, then drop the connection.
      Append(c, ErrorReply(e.what()));
      c.closeAfterFlush = true;
      pos = c.in.size();
    }
  }
  c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(pos));
}

// Reads the rest of the connecting side's fixed-size answer, and checks it once complete; returns whether
// the connection may go on (authenticated, or still answering).
bool ReadAnswer(Connection& c, const GroupSecret& secret) {
  char buf[kAnswerBytes];
  const std::size_t want = kAnswerBytes - c.in.size();
  const ssize_t n = ::recv(c.fd.Get(), buf, want, MSG_DONTWAIT);
  if (n == 0) return false;
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  c.in.insert(c.in.end(), buf, buf + n);
  if (c.in.size() < kAnswerBytes) return true;
  try {
    const Proof proof = CheckAnswer(secret, AuthPurpose::kStore, c.challenge,
                                    reinterpret_cast<const unsigned char*>(c.in.data()));
    c.out.insert(c.out.end(), proof.begin(), proof.end());
  } catch (const std::exception&) {
    return false;  // no word to a stranger: it learns nothing but the closed connection
  }
  c.authed = true;
  c.in.clear();
  return true;
}

void ReadSome(Connection& c) {
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::recv(c.fd.Get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      c.in.insert(c.in.end(), buf, buf + n);
      // A parked client should not be sending; cap what we buffer from it.
      if (c.in.size() > kMaxFrameBytes + kFrameHeaderBytes) {
        c.dead = true;
        return;
      }
      continue;
    }
    if (n == 0) c.dead = true;
    else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) c.dead = true;
    return;
  }
}

void WriteSome(Connection& c) {
  while (c.outPos < c.out.size()) {
    const ssize_t n = ::send(c.fd.Get(), c.out.data() + c.outPos, c.out.size() - c.outPos, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.outPos += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    c.dead = true;
    return;
  }
  c.out.clear();
  c.outPos = 0;
  if (c.closeAfterFlush) c.dead = true;
}

}  // namespace

TcpStoreServer::TcpStoreServer(const std::string& host, uint16_t port, std::shared_ptr<const GroupSecret> secret)
    : secret_(std::move(secret)) {
  if (!secret_) throw SocketError("the store server needs the group secret");
  listenFd_ = ListenTcp(host, port, &port_);
  SetNonBlocking(listenFd_.Get(), true);
  wakeFd_ = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wakeFd_.Valid()) throw SocketError(std::string("eventfd failed: ") + std::strerror(errno));
  thread_ = std::thread([this] { Serve(); });
}

TcpStoreServer::~TcpStoreServer() { Stop(); }

void TcpStoreServer::Stop() {
  if (stopping_.exchange(true)) {
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
    return;
  }
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t w = ::write(wakeFd_.Get(), &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
}

void TcpStoreServer::Serve() {
  Held held;
  KeyValues& kv = held.kv;
  std::list<Connection> conns;
  std::vector<pollfd> fds;
  while (!stopping_.load()) {
    fds.clear();
    fds.push_back({wakeFd_.Get(), POLLIN, 0});
    fds.push_back({listenFd_.Get(), POLLIN, 0});
    Clock::time_point nearest = Clock::time_point::max();
    for (Connection& c : conns) {
      short events = POLLIN;
      if (c.outPos < c.out.size()) events |= POLLOUT;
      fds.push_back({c.fd.Get(), events, 0});
      if (c.parked) nearest = std::min(nearest, c.parked->deadline);
      if (!c.authed) nearest = std::min(nearest, c.authDeadline);
    }
    int timeoutMs = -1;
    if (nearest != Clock::time_point::max()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(nearest - Clock::now()).count() + 1;
      timeoutMs = static_cast<int>(std::clamp<long long>(left, 0, 60'000));
    }
    const int rc = poll(fds.data(), fds.size(), timeoutMs);
    if (rc < 0 && errno != EINTR) break;
    if (stopping_.load()) break;

    if (fds[1].revents & POLLIN) {
      for (;;) {
        const int fd = accept4(listenFd_.Get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) break;
        UniqueFd accepted(fd);
        if (conns.size() >= kMaxConnections) {
          refused_.fetch_add(1);
          continue;  // closed by UniqueFd
        }
        conns.emplace_back();
        Connection& c = conns.back();
        c.fd = std::move(accepted);
        c.challenge = RandomNonce();
        c.authDeadline = Clock::now() + kAuthTimeout;
        const auto hello = Hello(c.challenge);
        c.out.assign(hello.begin(), hello.end());
      }
    }
    // Poll results map onto the connections that existed when fds was built (accepted ones come last).
    std::size_t i = 2;
    for (Connection& c : conns) {
      if (i >= fds.size()) break;
      const short re = fds[i++].revents;
      if (re & (POLLIN | POLLHUP | POLLERR)) {
        if (!c.authed && !ReadAnswer(c, *secret_)) {
          c.dead = true;
          refused_.fetch_add(1);
          continue;
        }
        if (c.authed) {
          ReadSome(c);
          Drain(c, held);
        }
      }
    }
    // SET/ADD may have satisfied parked requests anywhere; deadlines may have passed.
    const auto now = Clock::now();
    for (Connection& c : conns) {
      if (c.parked && TryAnswer(c, kv, now)) Drain(c, held);
      if (!c.authed && !c.dead && now >= c.authDeadline) {
        c.dead = true;
        refused_.fetch_add(1);
      }
    }
    for (Connection& c : conns) {
      if (!c.dead && !c.out.empty()) WriteSome(c);
    }
    conns.remove_if([](const Connection& c) { return c.dead; });
  }
}

}  // namespace tessera::store
