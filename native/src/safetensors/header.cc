#include "safetensors/header.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "safetensors/json.h"
#include "util/errors.h"

namespace tessera {

std::size_t SafetensorsDTypeSize(const std::string& dtype) {
  static const std::pair<const char*, std::size_t> kSizes[] = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"I16", 2},  {"U16", 2}, {"F16", 2},
      {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4},     {"F64", 8},     {"I64", 8},  {"U64", 8}};
  for (const auto& [name, size] : kSizes) {
    if (dtype == name) return size;
  }
  return 0;
}

namespace {

[[noreturn]] void FailTooManyTensors() {
  Fail("header has more than " + std::to_string(kMaxTensors) + " tensors (the cap; real checkpoints hold a few thousand at most)");
}

TensorEntry ParseEntry(const std::string& name, const json::Value& v, uint64_t dataSize) {
  const std::string where = "tensor \"" + name + "\": ";
  if (v.kind != json::Value::Kind::Object) Fail(where + "entry is " + json::KindName(v.kind) + ", expected an object");
  for (const auto& m : v.members) {
    if (m.first != "dtype" && m.first != "shape" && m.first != "data_offsets") Fail(where + "unknown field \"" + m.first + "\"");
  }
  const json::Value* dtype = v.Find("dtype");
  const json::Value* shape = v.Find("shape");
  const json::Value* offsets = v.Find("data_offsets");
  if (dtype == nullptr || dtype->kind != json::Value::Kind::String) Fail(where + "dtype is missing or not a string");
  if (shape == nullptr || shape->kind != json::Value::Kind::Array) Fail(where + "shape is missing or not an array");
  if (offsets == nullptr || offsets->kind != json::Value::Kind::Array) Fail(where + "data_offsets is missing or not an array");

  TensorEntry e;
  e.name = name;
  e.dtype = dtype->text;
  const std::size_t elem = SafetensorsDTypeSize(e.dtype);
  if (elem == 0) Fail(where + "unknown dtype \"" + e.dtype + "\"");
  if (shape->items.size() > 32) Fail(where + "shape has more than 32 dimensions");
  // Products are kept below 2^62 so the byte count cannot overflow either.
  uint64_t count = 1;
  bool empty = false;
  for (std::size_t i = 0; i < shape->items.size(); ++i) {
    uint64_t d = 0;
    if (!shape->items[i].AsUint64(d) || d > (uint64_t{1} << 62)) {
      Fail(where + "shape[" + std::to_string(i) + "] is not a non-negative integer below 2^62");
    }
    e.shape.push_back(static_cast<int64_t>(d));
    if (d == 0) empty = true;
    if (!empty && count > (uint64_t{1} << 62) / d) Fail(where + "shape has too many elements");
    if (!empty) count *= d;
  }
  if (empty) count = 0;
  if (offsets->items.size() != 2 || !offsets->items[0].AsUint64(e.begin) || !offsets->items[1].AsUint64(e.end)) {
    Fail(where + "data_offsets must be two non-negative integers [begin, end]");
  }
  if (e.begin > e.end) Fail(where + "data_offsets begin " + std::to_string(e.begin) + " > end " + std::to_string(e.end));
  if (e.end > dataSize) {
    Fail(where + "data_offsets end " + std::to_string(e.end) + " is past the data buffer (" + std::to_string(dataSize) + " bytes)");
  }
  if (count > std::numeric_limits<uint64_t>::max() / elem || count * elem != e.end - e.begin) {
    Fail(where + "shape × " + e.dtype + " size = " + std::to_string(count) + " × " + std::to_string(elem) +
         " bytes, but data_offsets span " + std::to_string(e.end - e.begin));
  }
  return e;
}

}  // namespace

Header ParseHeader(const unsigned char* data, std::size_t fileSize) {
  if (fileSize < 8) Fail("file is " + std::to_string(fileSize) + " bytes, shorter than the 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];  // little-endian
  if (n > kMaxHeaderBytes) Fail("header length " + std::to_string(n) + " exceeds the 100 MB limit");
  if (n > fileSize - 8) {
    Fail("header length " + std::to_string(n) + " is past the end of the file (" + std::to_string(fileSize) + " bytes)");
  }
  if (n < 2) Fail("header length " + std::to_string(n) + " is too short for a JSON object");
  if (data[8] != '{') Fail("header does not start with '{'");
  json::Value root;
  try {
    // One member more than the cap, for __metadata__.
    root = json::Parse(reinterpret_cast<const char*>(data + 8), static_cast<std::size_t>(n), kMaxTensors + 1);
  } catch (const json::RootTooLarge&) {
    FailTooManyTensors();
  }
  if (root.kind != json::Value::Kind::Object) Fail("header is not a JSON object");

  Header h;
  h.dataOffset = 8 + n;
  const uint64_t dataSize = fileSize - h.dataOffset;
  for (const auto& [key, value] : root.members) {
    if (key == "__metadata__") {
      if (value.kind != json::Value::Kind::Object) Fail("__metadata__ is " + std::string(json::KindName(value.kind)) + ", expected an object");
      for (const auto& [mk, mv] : value.members) {
        if (mv.kind != json::Value::Kind::String) Fail("__metadata__ \"" + mk + "\" is not a string");
        h.metadata.emplace_back(mk, mv.text);
      }
      continue;
    }
    h.tensors.push_back(ParseEntry(key, value, dataSize));
    if (h.tensors.size() > kMaxTensors) {
      FailTooManyTensors();
    }
  }

  // The tensors must tile [0, dataSize) exactly.
  std::vector<const TensorEntry*> order;
  order.reserve(h.tensors.size());
  for (const auto& t : h.tensors) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(), [](const TensorEntry* a, const TensorEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t cursor = 0;
  for (const TensorEntry* t : order) {
    if (t->begin < cursor) Fail("tensor \"" + t->name + "\" overlaps the previous tensor (begins at " + std::to_string(t->begin) + ", previous ends at " + std::to_string(cursor) + ")");
    if (t->begin > cursor) Fail("hole in the data buffer before tensor \"" + t->name + "\" (bytes " + std::to_string(cursor) + ".." + std::to_string(t->begin) + " are unused)");
    cursor = t->end;
  }
  if (cursor != dataSize) {
    Fail("data buffer has " + std::to_string(dataSize - cursor) + " bytes after the last tensor (tensors cover " +
         std::to_string(cursor) + " of " + std::to_string(dataSize) + ")");
  }
  return h;
}

}  // namespace tessera
