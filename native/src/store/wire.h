// The TCP store's wire format. Every message is one frame: a little-endian u32 body length, then the
// body. A request body starts with an Opcode byte, a reply body with a ReplyStatus byte; the fields
// that follow are fixed-width integers and length-prefixed byte strings. Every length read from the
// network is checked against the bytes actually present and against the limits below before anything
// is allocated, so a corrupt or hostile peer gets a protocol error, never an overrun or a huge malloc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace tessera::store {

constexpr std::size_t kMaxKeyBytes = 4096;
// Rendezvous data is small: the largest value is one rank's gloo pair addresses (136 bytes per peer, so
// 1 MiB covers 7,000 ranks); bulk data never goes through the store. A 64 MB value is refused.
constexpr std::size_t kMaxValueBytes = 1u << 20;
constexpr std::size_t kMaxKeysPerWait = 4096;
constexpr std::size_t kMaxFrameBytes = kMaxValueBytes + kMaxKeyBytes + 64;
constexpr std::size_t kFrameHeaderBytes = 4;
// What one store holds in all (keys and values), and how many connections it keeps open.
constexpr std::size_t kMaxStoreBytes = 256u << 20;
constexpr std::size_t kMaxConnections = 4096;

enum class Opcode : uint8_t {
  kSet = 1,     // key, value                 -> ok
  kGet = 2,     // key, timeoutMs             -> ok + value | timeout
  kAdd = 3,     // key, i64 delta             -> ok + i64 new value
  kWait = 4,    // u32 n, n keys, timeoutMs   -> ok | timeout
  kDelete = 5,  // key                        -> ok + u8 existed
  kCheck = 6,   // key                        -> ok + u8 exists (never blocks)
};

enum class ReplyStatus : uint8_t {
  kOk = 0,
  kTimeout = 1,
  kError = 2,  // followed by a message string
};

// A malformed frame: wrong length, unknown opcode, a field that runs past the end, a limit exceeded.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Appends fields to a frame body; Finish() prepends the length header.
class FrameWriter {
 public:
  FrameWriter& U8(uint8_t v);
  FrameWriter& U32(uint32_t v);
  FrameWriter& I64(int64_t v);
  FrameWriter& Bytes(const void* data, std::size_t size);
  FrameWriter& Str(const std::string& s) { return Bytes(s.data(), s.size()); }
  std::vector<char> Finish() const;

 private:
  std::vector<char> body_;
};

// Reads fields from one frame body, checking every length against what is left.
class FrameReader {
 public:
  FrameReader(const char* data, std::size_t size) : data_(data), size_(size) {}
  uint8_t U8();
  uint32_t U32();
  int64_t I64();
  // A length-prefixed byte string of at most maxBytes.
  std::string Str(std::size_t maxBytes);
  std::vector<char> Blob(std::size_t maxBytes);
  // Rejects trailing bytes: a frame with more than its opcode defines is malformed.
  void ExpectEnd() const;

 private:
  const char* Take(std::size_t n);
  const char* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// Decodes the length header of a frame; throws ProtocolError when it exceeds kMaxFrameBytes.
uint32_t DecodeFrameLength(const char* header);

}  // namespace tessera::store
