#include "store/wire.h"

#include <cstring>

namespace tessera::store {

namespace {

void PutLe(std::vector<char>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetLe(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

}  // namespace

FrameWriter& FrameWriter::U8(uint8_t v) {
  body_.push_back(static_cast<char>(v));
  return *this;
}

FrameWriter& FrameWriter::U32(uint32_t v) {
  PutLe(body_, v, 4);
  return *this;
}

FrameWriter& FrameWriter::I64(int64_t v) {
  PutLe(body_, static_cast<uint64_t>(v), 8);
  return *this;
}

FrameWriter& FrameWriter::Bytes(const void* data, std::size_t size) {
  if (size > kMaxValueBytes) throw ProtocolError("store field of " + std::to_string(size) + " bytes exceeds the limit");
  U32(static_cast<uint32_t>(size));
  const char* p = static_cast<const char*>(data);
  body_.insert(body_.end(), p, p + size);
  return *this;
}

std::vector<char> FrameWriter::Finish() const {
  if (body_.size() > kMaxFrameBytes) throw ProtocolError("store frame exceeds the limit");
  std::vector<char> frame;
  frame.reserve(kFrameHeaderBytes + body_.size());
  PutLe(frame, body_.size(), 4);
  frame.insert(frame.end(), body_.begin(), body_.end());
  return frame;
}

const char* FrameReader::Take(std::size_t n) {
  if (n > size_ - pos_) {
    throw ProtocolError("store frame truncated: field needs " + std::to_string(n) + " bytes, " +
                        std::to_string(size_ - pos_) + " left");
  }
  const char* p = data_ + pos_;
  pos_ += n;
  return p;
}

uint8_t FrameReader::U8() { return static_cast<uint8_t>(*Take(1)); }
uint32_t FrameReader::U32() { return static_cast<uint32_t>(GetLe(Take(4), 4)); }
int64_t FrameReader::I64() { return static_cast<int64_t>(GetLe(Take(8), 8)); }

std::string FrameReader::Str(std::size_t maxBytes) {
  const uint32_t n = U32();
  if (n > maxBytes) throw ProtocolError("store field of " + std::to_string(n) + " bytes exceeds the limit " + std::to_string(maxBytes));
  const char* p = Take(n);
  return std::string(p, n);
}

std::vector<char> FrameReader::Blob(std::size_t maxBytes) {
  const uint32_t n = U32();
  if (n > maxBytes) throw ProtocolError("store value of " + std::to_string(n) + " bytes exceeds the limit " + std::to_string(maxBytes));
  const char* p = Take(n);
  return std::vector<char>(p, p + n);
}

void FrameReader::ExpectEnd() const {
  if (pos_ != size_) throw ProtocolError("store frame has " + std::to_string(size_ - pos_) + " unexpected trailing bytes");
}

uint32_t DecodeFrameLength(const char* header) {
  const uint32_t n = static_cast<uint32_t>(GetLe(header, 4));
  if (n == 0 || n > kMaxFrameBytes) throw ProtocolError("store frame length " + std::to_string(n) + " is out of bounds");
  return n;
}

}  // namespace tessera::store
