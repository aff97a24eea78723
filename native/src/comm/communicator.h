// The one communicator interface both backends implement (gloo over TCP on CPU, NCCL on GPU).
//
// Every operation is asynchronous: it validates nothing (the binding checks shapes first, see
// validate.h), queues work on the communicator's own threads and returns at once; `done` runs exactly
// once, on a communicator thread, with an empty string on success or the error message. Several
// operations may be in flight. Collectives run one at a time in call order on a serial lane (gloo and
// NCCL both require the same collective order on every rank); point-to-point transfers run beside them.
// The first failure (timeout, dead peer, transport error) or Abort() fails every pending and later
// operation with the same reason and tears the transport down: a communicator never recovers — build a
// new one with a new generation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tessera::comm {

enum class DType { kF32, kF64, kF16, kBF16, kI8, kU8, kI32, kI64 };
enum class ReduceOp { kSum, kMax };

std::size_t DTypeSize(DType dtype);
// Parses 'f32', 'f64', 'f16', 'bf16', 'i8', 'u8', 'i32', 'i64'; throws tessera::Error otherwise.
DType ParseDType(const std::string& name);
ReduceOp ParseReduceOp(const std::string& name);

// Memory an operation reads or writes; the caller keeps it alive until `done` runs.
struct Memory {
  void* data = nullptr;
  std::size_t bytes = 0;
  bool onDevice = false;  // CUDA device memory
  int cudaDevice = -1;
};

using Done = std::function<void(const std::string& error)>;

// One side of a point-to-point transfer.
struct Transfer {
  Memory buf;
  int peer = 0;
  uint64_t tag = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int Rank() const = 0;
  virtual int Size() const = 0;
  virtual const char* Backend() const = 0;

  // In place over `buf` (count = bytes / size of dtype).
  virtual void AllReduce(Memory buf, DType dtype, ReduceOp op, Done done) = 0;
  // out = concatenation of every rank's `in`, in rank order.
  virtual void AllGather(Memory in, Memory out, DType dtype, Done done) = 0;
  // `in` holds Size() equal chunks; chunk j goes to rank j; out chunk i comes from rank i.
  virtual void AllToAll(Memory in, Memory out, DType dtype, Done done) = 0;
  // Variable chunks: inCounts[j] elements go to rank j, outCounts[i] elements come from rank i.
  virtual void AllToAllV(Memory in, std::vector<int64_t> inCounts, Memory out, std::vector<int64_t> outCounts, DType dtype,
                         Done done) = 0;
  // In place: root's `buf` is copied into every other rank's `buf`.
  virtual void Broadcast(Memory buf, int root, DType dtype, Done done) = 0;
  virtual void Send(Memory buf, int peer, uint64_t tag, Done done) = 0;
  virtual void Recv(Memory buf, int peer, uint64_t tag, Done done) = 0;
  // Posts every send and recv together and completes when all have: the deadlock-free form of
  // cyclic patterns (ring attention's send-to-next + recv-from-prev); grouped into one NCCL group.
  virtual void Exchange(std::vector<Transfer> sends, std::vector<Transfer> recvs, Done done) = 0;
  virtual void Barrier(Done done) = 0;

  // Fails every pending and later operation with `reason`; does not block. Idempotent.
  virtual void Abort(const std::string& reason) = 0;
  // Aborts, then joins the communicator's threads; after it returns no `done` will run. May block until
  // the transport notices the abort (bounded by the operation timeout). Idempotent, and safe from several
  // threads at once: every caller returns only once the threads are joined.
  virtual void Close() = 0;
  // The failure that tore the communicator down, or "" while it is healthy.
  virtual std::string Failure() const = 0;

  // Device ordering (NCCL only). Operations are numbered 1, 2, … in the order they are started;
  // Started() is the number of the last one. OrderDefaultStream(n) queues on the default stream, where
  // every kernel runs, a wait on the device for operation n, so kernels launched afterwards read its
  // results without the host waiting for it (the caller still observes `done` for errors). Called from
  // the thread that starts operations; it may block only until the operation has been issued, never
  // until it completes. Returns "" or the reason it could not order (then the communicator has failed).
  virtual uint64_t Started() const { return 0; }
  virtual std::string OrderDefaultStream(uint64_t operation) {
    return std::string(Backend()) + " cannot order the default stream after operation " + std::to_string(operation) +
           ": its operations run on the host; await them instead";
  }
};

}  // namespace tessera::comm
