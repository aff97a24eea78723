// A small fixed pool for element-wise and row-wise kernels. Kernels call ParallelFor synchronously from
// the JS thread; the calling thread works too. The pool holds no lock that communicators use, so their
// threads keep progressing while JavaScript computes. Size: TESSERA_NUM_THREADS, else the hardware
// concurrency; SetNumThreads changes it (and OpenBLAS's, when loaded) at run time.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tessera {

using RangeFn = std::function<void(int64_t begin, int64_t end)>;

class ThreadPool {
 public:
  static ThreadPool& Global();
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int Size() const { return static_cast<int>(workers_.size()) + 1; }
  void Resize(int threads);

  // Calls fn on disjoint chunks covering [0, n), each at least `grain` long, and returns when all are
  // done. Rethrows the first exception a chunk threw. Runs inline when n is small or when called from
  // inside another ParallelFor.
  void ParallelFor(int64_t n, int64_t grain, const RangeFn& fn);
  // The same with one item per chunk: for items that each take a millisecond or more (GEMM blocks,
  // attention tiles), where coarse chunks would leave a thread idle at the end.
  void ParallelForEach(int64_t n, const RangeFn& fn);

 private:
  explicit ThreadPool(int threads);
  void Start(int threads);
  void Stop();
  void WorkerLoop();
  void RunChunks();
  void Run(int64_t n, int64_t chunk, const RangeFn& fn);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  bool stopping_ = false;
  uint64_t generation_ = 0;
  // The job in flight (one at a time: the JS thread is the only submitter).
  const RangeFn* job_ = nullptr;
  int64_t jobSize_ = 0;
  int64_t chunk_ = 0;
  int64_t nextChunk_ = 0;
  int64_t chunkCount_ = 0;
  int64_t chunksDone_ = 0;
  std::exception_ptr error_;
  std::mutex submitMutex_;
};

// Shorthand for ThreadPool::Global().ParallelFor.
inline void ParallelFor(int64_t n, int64_t grain, const RangeFn& fn) {
  ThreadPool::Global().ParallelFor(n, grain, fn);
}

inline void ParallelForEach(int64_t n, const RangeFn& fn) { ThreadPool::Global().ParallelForEach(n, fn); }

// Thread count of the pool; SetNumThreads also tells the one listener (OpenBLAS, when it is loaded).
int NumThreads();
void SetNumThreads(int threads);
void OnThreadCountChange(void (*listener)(int threads));

}  // namespace tessera
