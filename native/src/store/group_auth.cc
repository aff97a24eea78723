#include "store/group_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>

#include "store/socket.h"

namespace tessera::store {

namespace {

constexpr unsigned char kMagic[kMagicBytes] = {'T', 'S', 'R', 'A', 'U', 'T', 'H', '1'};

const char* Label(AuthPurpose purpose, bool fromClient) {
  if (purpose == AuthPurpose::kStore) return fromClient ? "tessera-store client" : "tessera-store server";
  return fromClient ? "tessera-gloo client" : "tessera-gloo server";
}

}  // namespace

GroupSecret::GroupSecret(std::vector<unsigned char> bytes) : bytes_(std::move(bytes)) {
  if (bytes_.size() < kSecretMinBytes || bytes_.size() > kSecretMaxBytes) {
    throw std::invalid_argument("the group secret must be " + std::to_string(kSecretMinBytes) + " to " +
                                std::to_string(kSecretMaxBytes) + " bytes, got " + std::to_string(bytes_.size()));
  }
}

Proof GroupSecret::Sign(AuthPurpose purpose, bool fromClient, const Nonce& server, const Nonce& client) const {
  const char* label = Label(purpose, fromClient);
  std::vector<unsigned char> message(label, label + std::strlen(label));
  message.insert(message.end(), server.begin(), server.end());
  message.insert(message.end(), client.begin(), client.end());
  Proof out{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), bytes_.data(), static_cast<int>(bytes_.size()), message.data(), message.size(), out.data(),
           &length) == nullptr ||
      length != kProofBytes) {
    throw AuthError("HMAC-SHA256 failed");
  }
  return out;
}

std::string GroupSecret::Fingerprint() const {
  const Nonce zero{};
  const Proof mac = Sign(AuthPurpose::kGloo, false, zero, zero);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : mac) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

Nonce RandomNonce() {
  Nonce n{};
  if (RAND_bytes(n.data(), static_cast<int>(n.size())) != 1) throw AuthError("no random bytes for a nonce");
  return n;
}

std::array<unsigned char, kHelloBytes> Hello(const Nonce& server) {
  std::array<unsigned char, kHelloBytes> hello{};
  std::memcpy(hello.data(), kMagic, kMagicBytes);
  std::memcpy(hello.data() + kMagicBytes, server.data(), kNonceBytes);
  return hello;
}

ClientStep AnswerHello(const GroupSecret& secret, AuthPurpose purpose, const unsigned char* hello) {
  if (std::memcmp(hello, kMagic, kMagicBytes) != 0) {
    throw AuthError("the peer does not speak Tessera's authenticated group protocol");
  }
  ClientStep step{};
  std::memcpy(step.server.data(), hello + kMagicBytes, kNonceBytes);
  step.client = RandomNonce();
  const Proof proof = secret.Sign(purpose, true, step.server, step.client);
  std::memcpy(step.answer.data(), step.client.data(), kNonceBytes);
  std::memcpy(step.answer.data() + kNonceBytes, proof.data(), kProofBytes);
  return step;
}

Proof CheckAnswer(const GroupSecret& secret, AuthPurpose purpose, const Nonce& server, const unsigned char* answer) {
  Nonce client{};
  std::memcpy(client.data(), answer, kNonceBytes);
  const Proof expected = secret.Sign(purpose, true, server, client);
  if (CRYPTO_memcmp(expected.data(), answer + kNonceBytes, kProofBytes) != 0) {
    throw AuthError("the peer did not prove it holds the group secret");
  }
  return secret.Sign(purpose, false, server, client);
}

void CheckServerProof(const GroupSecret& secret, AuthPurpose purpose, const ClientStep& step, const unsigned char* proof) {
  const Proof expected = secret.Sign(purpose, false, step.server, step.client);
  if (CRYPTO_memcmp(expected.data(), proof, kProofBytes) != 0) {
    throw AuthError("the peer answered with a wrong proof: it does not hold this group's secret");
  }
}

void ClientHandshake(int fd, const GroupSecret& secret, AuthPurpose purpose, Clock::time_point deadline) {
  std::array<unsigned char, kHelloBytes> hello{};
  try {
    ReadExact(fd, hello.data(), hello.size(), deadline);
  } catch (const SocketError& e) {
    throw AuthError(std::string("no authentication challenge from the peer (") + e.what() + ")");
  }
  const ClientStep step = AnswerHello(secret, purpose, hello.data());
  WriteAll(fd, step.answer.data(), step.answer.size(), deadline);
  Proof proof{};
  try {
    ReadExact(fd, proof.data(), proof.size(), deadline);
  } catch (const SocketError& e) {
    // The accepting side closes without a word when our proof is wrong.
    throw AuthError(std::string("the peer refused our proof: the group secret differs (") + e.what() + ")");
  }
  CheckServerProof(secret, purpose, step, proof.data());
}

}  // namespace tessera::store
