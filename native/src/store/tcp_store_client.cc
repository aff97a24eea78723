#include "store/tcp_store_client.h"

#include <algorithm>

namespace tessera::store {

namespace {

// Slack on top of a request's own timeout for the round trip, so the server's TIMEOUT reply (which says
// which key was missing) arrives before the socket deadline does.
constexpr std::chrono::milliseconds kReplySlack{5'000};

uint32_t ClampTimeoutMs(std::chrono::milliseconds timeout) {
  return static_cast<uint32_t>(std::clamp<long long>(timeout.count(), 0, 24LL * 3600 * 1000));
}

std::string JoinKeys(const std::vector<std::string>& keys) {
  std::string out;
  for (const std::string& k : keys) out += (out.empty() ? "'" : ", '") + k + "'";
  return out;
}

}  // namespace

TcpStoreClient::TcpStoreClient(const StoreAddress& address) : address_(address) {
  if (!address.secret) throw AuthError("a store client needs the group secret");
  const auto deadline = Clock::now() + address.timeout;
  fd_ = ConnectTcpWithRetry(address.host, address.port, deadline);
  try {
    ClientHandshake(fd_.Get(), *address.secret, AuthPurpose::kStore, deadline);
  } catch (const AuthError& e) {
    throw AuthError("store " + address.host + ":" + std::to_string(address.port) + ": " + e.what());
  }
}

void TcpStoreClient::CheckKey(const std::string& key) {
  if (key.empty() || key.size() > kMaxKeyBytes) {
    throw ProtocolError("store key must be 1.." + std::to_string(kMaxKeyBytes) + " bytes, got " + std::to_string(key.size()));
  }
}

std::vector<char> TcpStoreClient::Call(const std::vector<char>& request, std::chrono::milliseconds serverWait) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!fd_.Valid()) throw SocketError("store connection is closed after an earlier failure");
  const auto deadline = Clock::now() + serverWait + kReplySlack;
  try {
    WriteAll(fd_.Get(), request.data(), request.size(), deadline);
    char header[kFrameHeaderBytes];
    ReadExact(fd_.Get(), header, sizeof(header), deadline);
    const uint32_t len = DecodeFrameLength(header);
    std::vector<char> body(len);
    ReadExact(fd_.Get(), body.data(), len, deadline);
    return body;
  } catch (...) {
    // A half-read reply leaves the stream out of step; no later request could be trusted.
    fd_.Reset();
    throw;
  }
}

void TcpStoreClient::Set(const std::string& key, const std::vector<char>& value) {
  CheckKey(key);
  std::vector<char> reply = Call(FrameWriter().U8(uint8_t(Opcode::kSet)).Str(key).Bytes(value.data(), value.size()).Finish(), {});
  FrameReader r(reply.data(), reply.size());
  const auto status = static_cast<ReplyStatus>(r.U8());
  if (status != ReplyStatus::kOk) throw ProtocolError("store SET '" + key + "' failed: " + r.Str(kMaxKeyBytes));
}

std::vector<char> TcpStoreClient::Get(const std::string& key, std::chrono::milliseconds timeout) {
  CheckKey(key);
  std::vector<char> reply = Call(FrameWriter().U8(uint8_t(Opcode::kGet)).Str(key).U32(ClampTimeoutMs(timeout)).Finish(), timeout);
  FrameReader r(reply.data(), reply.size());
  const auto status = static_cast<ReplyStatus>(r.U8());
  if (status == ReplyStatus::kTimeout) {
    throw StoreTimeout("store key '" + key + "' did not appear within " + std::to_string(timeout.count()) + " ms");
  }
  if (status != ReplyStatus::kOk) throw ProtocolError("store GET '" + key + "' failed: " + r.Str(kMaxKeyBytes));
  std::vector<char> value = r.Blob(kMaxValueBytes);
  r.ExpectEnd();
  return value;
}

int64_t TcpStoreClient::Add(const std::string& key, int64_t delta) {
  CheckKey(key);
  std::vector<char> reply = Call(FrameWriter().U8(uint8_t(Opcode::kAdd)).Str(key).I64(delta).Finish(), {});
  FrameReader r(reply.data(), reply.size());
  const auto status = static_cast<ReplyStatus>(r.U8());
  if (status != ReplyStatus::kOk) throw ProtocolError("store ADD '" + key + "' failed: " + r.Str(kMaxKeyBytes));
  const int64_t value = r.I64();
  r.ExpectEnd();
  return value;
}

void TcpStoreClient::Wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout) {
  if (keys.size() > kMaxKeysPerWait) throw ProtocolError("store WAIT on more than " + std::to_string(kMaxKeysPerWait) + " keys");
  FrameWriter w;
  w.U8(uint8_t(Opcode::kWait)).U32(static_cast<uint32_t>(keys.size()));
  for (const std::string& k : keys) {
    CheckKey(k);
    w.Str(k);
  }
  std::vector<char> reply = Call(w.U32(ClampTimeoutMs(timeout)).Finish(), timeout);
  FrameReader r(reply.data(), reply.size());
  const auto status = static_cast<ReplyStatus>(r.U8());
  if (status == ReplyStatus::kTimeout) {
    throw StoreTimeout("store keys " + JoinKeys(keys) + " did not all appear within " + std::to_string(timeout.count()) + " ms");
  }
  if (status != ReplyStatus::kOk) throw ProtocolError("store WAIT failed: " + r.Str(kMaxKeyBytes));
}

bool TcpStoreClient::Delete(const std::string& key) {
  CheckKey(key);
  std::vector<char> reply = Call(FrameWriter().U8(uint8_t(Opcode::kDelete)).Str(key).Finish(), {});
  FrameReader r(reply.data(), reply.size());
  if (static_cast<ReplyStatus>(r.U8()) != ReplyStatus::kOk) throw ProtocolError("store DELETE '" + key + "' failed: " + r.Str(kMaxKeyBytes));
  return r.U8() != 0;
}

bool TcpStoreClient::Check(const std::string& key) {
  CheckKey(key);
  std::vector<char> reply = Call(FrameWriter().U8(uint8_t(Opcode::kCheck)).Str(key).Finish(), {});
  FrameReader r(reply.data(), reply.size());
  if (static_cast<ReplyStatus>(r.U8()) != ReplyStatus::kOk) throw ProtocolError("store CHECK '" + key + "' failed: " + r.Str(kMaxKeyBytes));
  return r.U8() != 0;
}

}  // namespace tessera::store
