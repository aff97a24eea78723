// Parsing and validating a safetensors header (format: refs/runtime.md §6). Every field is checked:
// the length bound, the JSON, each dtype, shape and offset pair, shape × dtype size = byte length, and
// that the tensors tile the data buffer exactly (no holes, no overlaps, nothing past the end).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tessera {

constexpr uint64_t kMaxHeaderBytes = 100u * 1000u * 1000u;  // the reference reader's limit
// Far above any real file (a FLUX or T5-XXL shard holds under 1,000 tensors, the largest LLM shards a
// few thousand), and low enough that refusing a hostile header of 500,000 empty tensors is quick.
constexpr std::size_t kMaxTensors = 100'000;

struct TensorEntry {
  std::string name;
  std::string dtype;  // as written: "F32", "BF16", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets relative to the data buffer, end exclusive
  uint64_t end = 0;
};

struct Header {
  uint64_t dataOffset = 0;  // 8 + header length
  std::vector<TensorEntry> tensors;  // in header order
  std::vector<std::pair<std::string, std::string>> metadata;
};

// Bytes per element of a safetensors dtype name, 0 if the name is unknown.
std::size_t SafetensorsDTypeSize(const std::string& dtype);

// Throws tessera::Error with the reason (the caller adds the file name).
Header ParseHeader(const unsigned char* data, std::size_t fileSize);

}  // namespace tessera
