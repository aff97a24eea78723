#include "safetensors/json.h"

#include <limits>
#include <unordered_set>

#include "util/errors.h"

namespace tessera::json {
namespace {

constexpr int kMaxDepth = 64;
// A hostile 100 MB header of "0,0,0,..." would otherwise expand into gigabytes of parsed values; real
// headers have about six values per tensor.
constexpr std::size_t kMaxValues = 4'000'000;

class Parser {
 public:
  Parser(const char* text, std::size_t length, std::size_t maxRootMembers)
      : p_(text), begin_(text), end_(text + length), maxRootMembers_(maxRootMembers) {}

  Value Document() {
    Value v = ParseValue(0);
    SkipSpace();
    if (p_ != end_) Error("unexpected data after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void Error(const std::string& what) const {
    Fail("invalid JSON header: " + what + " at byte " + std::to_string(p_ - begin_));
  }

  void SkipSpace() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }

  bool Consume(char c) {
    SkipSpace();
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }

  void Expect(char c) {
    if (!Consume(c)) Error(std::string("expected '") + c + "'");
  }

  void Literal(const char* word) {
    for (const char* w = word; *w; ++w, ++p_) {
      if (p_ >= end_ || *p_ != *w) Error(std::string("invalid literal (expected ") + word + ")");
    }
  }

  Value ParseValue(int depth) {
    if (depth > kMaxDepth) Error("nesting deeper than " + std::to_string(kMaxDepth));
    if (++values_ > kMaxValues) Error("more than " + std::to_string(kMaxValues) + " values");
    SkipSpace();
    if (p_ >= end_) Error("unexpected end of header");
    Value v;
    switch (*p_) {
      case '{': ParseObject(v, depth); break;
      case '[': ParseArray(v, depth); break;
      case '"':
        v.kind = Value::Kind::String;
        v.text = ParseString();
        break;
      case 't': Literal("true"); v.kind = Value::Kind::Bool; v.boolean = true; break;
      case 'f': Literal("false"); v.kind = Value::Kind::Bool; break;
      case 'n': Literal("null"); break;
      default:
        if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) {
          v.kind = Value::Kind::Number;
          v.text = ParseNumber();
        } else {
          Error("unexpected character");
        }
    }
    return v;
  }

  void ParseObject(Value& v, int depth) {
    v.kind = Value::Kind::Object;
    ++p_;
    if (Consume('}')) return;
    std::unordered_set<std::string> keys;
    do {
      SkipSpace();
      if (p_ >= end_ || *p_ != '"') Error("expected a string key");
      std::string key = ParseString();
      if (!keys.insert(key).second) Error("duplicate key \"" + key + "\"");
      if (depth == 0 && v.members.size() >= maxRootMembers_) {
        throw RootTooLarge("more than " + std::to_string(maxRootMembers_) + " top-level members");
      }
      Expect(':');
      v.members.emplace_back(std::move(key), ParseValue(depth + 1));
    } while (Consume(','));
    Expect('}');
  }

  void ParseArray(Value& v, int depth) {
    v.kind = Value::Kind::Array;
    ++p_;
    if (Consume(']')) return;
    do {
      v.items.push_back(ParseValue(depth + 1));
    } while (Consume(','));
    Expect(']');
  }

  std::string ParseNumber() {
    const char* start = p_;
    if (*p_ == '-') ++p_;
    if (p_ >= end_) Error("truncated number");
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    } else {
      Error("invalid number");
    }
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (p_ >= end_ || *p_ < '0' || *p_ > '9') Error("invalid fraction");
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ >= end_ || *p_ < '0' || *p_ > '9') Error("invalid exponent");
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    return std::string(start, p_);
  }

  unsigned Hex4() {
    if (end_ - p_ < 4) Error("truncated \\u escape");
    unsigned code = 0;
    for (int i = 0; i < 4; ++i, ++p_) {
      const char c = *p_;
      code <<= 4;
      if (c >= '0' && c <= '9') code |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') code |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') code |= static_cast<unsigned>(c - 'A' + 10);
      else Error("invalid \\u escape");
    }
    return code;
  }

  static void AppendUtf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  // Copies one UTF-8 sequence, rejecting overlong forms, surrogates and truncation.
  void CopyUtf8(std::string& out) {
    const auto b0 = static_cast<unsigned char>(*p_);
    int extra;
    unsigned cp;
    if (b0 >= 0xc2 && b0 <= 0xdf) { extra = 1; cp = b0 & 0x1f; }
    else if (b0 >= 0xe0 && b0 <= 0xef) { extra = 2; cp = b0 & 0x0f; }
    else if (b0 >= 0xf0 && b0 <= 0xf4) { extra = 3; cp = b0 & 0x07; }
    else Error("invalid UTF-8");
    if (end_ - p_ < extra + 1) Error("truncated UTF-8");
    for (int i = 1; i <= extra; ++i) {
      const auto b = static_cast<unsigned char>(p_[i]);
      if ((b & 0xc0) != 0x80) Error("invalid UTF-8");
      cp = (cp << 6) | (b & 0x3f);
    }
    if ((extra == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (extra == 3 && (cp < 0x10000 || cp > 0x10ffff))) {
      Error("invalid UTF-8");
    }
    out.append(p_, static_cast<std::size_t>(extra + 1));
    p_ += extra + 1;
  }

  std::string ParseString() {
    ++p_;  // opening quote
    std::string out;
    for (;;) {
      if (p_ >= end_) Error("unterminated string");
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return out;
      }
      if (c < 0x20) Error("control character in string");
      if (c >= 0x80) {
        CopyUtf8(out);
        continue;
      }
      if (c != '\\') {
        out += static_cast<char>(c);
        ++p_;
        continue;
      }
      ++p_;
      if (p_ >= end_) Error("unterminated escape");
      const char e = *p_++;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = Hex4();
          if (cp >= 0xd800 && cp <= 0xdbff) {
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') Error("unpaired surrogate");
            p_ += 2;
            const unsigned low = Hex4();
            if (low < 0xdc00 || low > 0xdfff) Error("unpaired surrogate");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            Error("unpaired surrogate");
          }
          AppendUtf8(out, cp);
          break;
        }
        default: Error("invalid escape");
      }
    }
  }

  std::size_t values_ = 0;
  const char* p_;
  const char* begin_;
  const char* end_;
  const std::size_t maxRootMembers_;
};

}  // namespace

const Value* Value::Find(const std::string& key) const {
  for (const auto& m : members) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

bool Value::AsUint64(uint64_t& out) const {
  if (kind != Kind::Number || text.empty() || text.size() > 20) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - digit) / 10) return false;
    v = v * 10 + digit;
  }
  out = v;
  return true;
}

Value Parse(const char* text, std::size_t length, std::size_t maxRootMembers) {
  return Parser(text, length, maxRootMembers).Document();
}

const char* KindName(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::Null: return "null";
    case Value::Kind::Bool: return "a boolean";
    case Value::Kind::Number: return "a number";
    case Value::Kind::String: return "a string";
    case Value::Kind::Array: return "an array";
    case Value::Kind::Object: return "an object";
  }
  return "?";
}

}  // namespace tessera::json
