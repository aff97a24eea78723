// Argument checks shared by both backends, run on the JS thread before anything is queued, so that a
// wrong size or rank becomes an immediate, clear error instead of a hang or a corrupt transfer on
// another rank. Each throws tessera::Error naming the operation and both numbers.
#pragma once

#include <cstdint>
#include <vector>

#include "comm/communicator.h"

namespace tessera::comm {

void CheckWholeElements(const char* op, const char* what, const Memory& m, DType dtype);
void CheckAllGather(const Memory& in, const Memory& out, DType dtype, int size);
void CheckAllToAll(const Memory& in, const Memory& out, DType dtype, int size);
void CheckAllToAllV(const Memory& in, const std::vector<int64_t>& inCounts, const Memory& out,
                    const std::vector<int64_t>& outCounts, DType dtype, int size);
void CheckRoot(const char* op, int root, int size);
void CheckPeer(const char* op, int peer, int rank, int size);

}  // namespace tessera::comm
