// A strict JSON parser for safetensors headers: bounded nesting, no duplicate keys, UTF-8 checked,
// numbers kept as text so offsets and shapes parse as exact unsigned 64-bit integers.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace tessera::json {

struct Value {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  std::string text;  // String: decoded UTF-8; Number: the literal as written
  std::vector<Value> items;
  std::vector<std::pair<std::string, Value>> members;  // in document order

  const Value* Find(const std::string& key) const;
  // The number as an exact non-negative integer; false for fractions, exponents, signs or overflow.
  bool AsUint64(uint64_t& out) const;
};

// Parses the whole of `text` (trailing whitespace allowed). Throws tessera::Error("...at byte N").
// The top-level object may have at most maxRootMembers members; one more throws RootTooLarge at once,
// before the rest is parsed.
Value Parse(const char* text, std::size_t length, std::size_t maxRootMembers = SIZE_MAX);

// The top-level object has more members than the caller allows.
class RootTooLarge : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

const char* KindName(Value::Kind kind);

}  // namespace tessera::json
