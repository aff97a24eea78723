// Mutual authentication of every connection inside a group with the group's secret, before either side
// reads anything else from the other: the store's clients, and the gloo pairs of every communicator.
//
// The exchange (fixed sizes, so the accepting side reads exactly 64 bytes from a stranger, never a
// length it was told):
//   accepting side → 8-byte magic + 32-byte random nonce Ns
//   connecting side → 32-byte random nonce Nc + HMAC-SHA256(secret, "<purpose> client" ‖ Ns ‖ Nc)
//   accepting side → HMAC-SHA256(secret, "<purpose> server" ‖ Ns ‖ Nc), or it closes the connection
// Fresh nonces on both sides rule out replay; the purpose label keeps a store proof from opening a gloo
// pair; the server's proof stops a rank from handing its rendezvous to a stranger posing as the store.
// HMAC and the random bytes come from the OpenSSL that Node itself links (its symbols are exported to
// addons), so no second crypto library is loaded.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace tessera::store {

constexpr std::size_t kSecretMinBytes = 16;
constexpr std::size_t kSecretMaxBytes = 4096;
constexpr std::size_t kNonceBytes = 32;
constexpr std::size_t kProofBytes = 32;
constexpr std::size_t kMagicBytes = 8;
constexpr std::size_t kHelloBytes = kMagicBytes + kNonceBytes;   // accepting side's first message
constexpr std::size_t kAnswerBytes = kNonceBytes + kProofBytes;  // connecting side's answer

// Which kind of connection a proof opens.
enum class AuthPurpose { kStore, kGloo };

using Nonce = std::array<unsigned char, kNonceBytes>;
using Proof = std::array<unsigned char, kProofBytes>;

// The peer did not prove it holds the group's secret (or spoke something else entirely).
class AuthError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The group's shared secret; its bytes never leave this object except into HMAC.
class GroupSecret {
 public:
  // Throws std::invalid_argument unless kSecretMinBytes <= size <= kSecretMaxBytes.
  explicit GroupSecret(std::vector<unsigned char> bytes);
  Proof Sign(AuthPurpose purpose, bool fromClient, const Nonce& server, const Nonce& client) const;
  // A one-way name of the secret (HMAC of a fixed label), to share resources among holders of one secret.
  std::string Fingerprint() const;

 private:
  std::vector<unsigned char> bytes_;
};

Nonce RandomNonce();

// The accepting side's first message: magic + its nonce.
std::array<unsigned char, kHelloBytes> Hello(const Nonce& server);

// Connecting side: from the accepting side's hello, the answer to send (also returns the nonce pair
// for checking the accepting side's proof). Throws AuthError for a hello that is not ours.
struct ClientStep {
  std::array<unsigned char, kAnswerBytes> answer;
  Nonce server;
  Nonce client;
};
ClientStep AnswerHello(const GroupSecret& secret, AuthPurpose purpose, const unsigned char* hello);

// Accepting side: checks the connecting side's answer; returns the proof to send back, or throws AuthError.
Proof CheckAnswer(const GroupSecret& secret, AuthPurpose purpose, const Nonce& server, const unsigned char* answer);

// Connecting side: checks the accepting side's proof; throws AuthError.
void CheckServerProof(const GroupSecret& secret, AuthPurpose purpose, const ClientStep& step, const unsigned char* proof);

// The connecting side's whole exchange over a blocking-capable socket, bounded by the deadline.
void ClientHandshake(int fd, const GroupSecret& secret, AuthPurpose purpose, std::chrono::steady_clock::time_point deadline);

}  // namespace tessera::store
