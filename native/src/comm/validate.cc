#include "comm/validate.h"

#include <string>

#include "util/errors.h"

namespace tessera::comm {

namespace {

std::string N(std::size_t v) { return std::to_string(v); }

}  // namespace

void CheckWholeElements(const char* op, const char* what, const Memory& m, DType dtype) {
  if (m.bytes % DTypeSize(dtype) != 0) {
    Fail(std::string(op) + ": " + what + " holds " + N(m.bytes) + " bytes, not a whole number of " + N(DTypeSize(dtype)) +
         "-byte elements");
  }
}

void CheckAllGather(const Memory& in, const Memory& out, DType dtype, int size) {
  CheckWholeElements("allGather", "input", in, dtype);
  if (out.bytes != in.bytes * static_cast<std::size_t>(size)) {
    Fail("allGather: output holds " + N(out.bytes) + " bytes, expected size × input = " + N(size) + " × " + N(in.bytes));
  }
}

void CheckAllToAll(const Memory& in, const Memory& out, DType dtype, int size) {
  CheckWholeElements("allToAll", "input", in, dtype);
  if (in.bytes != out.bytes) Fail("allToAll: input holds " + N(in.bytes) + " bytes but output " + N(out.bytes));
  if (in.bytes % (DTypeSize(dtype) * static_cast<std::size_t>(size)) != 0) {
    Fail("allToAll: " + N(in.bytes / DTypeSize(dtype)) + " elements do not split into " + N(size) + " equal chunks");
  }
}

void CheckAllToAllV(const Memory& in, const std::vector<int64_t>& inCounts, const Memory& out,
                    const std::vector<int64_t>& outCounts, DType dtype, int size) {
  const auto check = [&](const char* what, const Memory& m, const std::vector<int64_t>& counts) {
    if (counts.size() != static_cast<std::size_t>(size)) {
      Fail(std::string("allToAllV: ") + what + " counts has " + N(counts.size()) + " entries, expected one per rank (" + N(size) + ")");
    }
    std::size_t total = 0;
    for (int64_t c : counts) {
      if (c < 0) Fail(std::string("allToAllV: ") + what + " counts has a negative entry");
      total += static_cast<std::size_t>(c);
    }
    if (total * DTypeSize(dtype) > m.bytes) {
      Fail(std::string("allToAllV: ") + what + " counts sum to " + N(total) + " elements but the buffer holds " +
           N(m.bytes / DTypeSize(dtype)));
    }
  };
  check("input", in, inCounts);
  check("output", out, outCounts);
}

void CheckRoot(const char* op, int root, int size) {
  if (root < 0 || root >= size) Fail(std::string(op) + ": root " + std::to_string(root) + " is not a rank of this group of " + N(size));
}

void CheckPeer(const char* op, int peer, int rank, int size) {
  if (peer < 0 || peer >= size) Fail(std::string(op) + ": peer " + std::to_string(peer) + " is not a rank of this group of " + N(size));
  if (peer == rank) Fail(std::string(op) + ": peer " + std::to_string(peer) + " is this rank itself");
}

}  // namespace tessera::comm
