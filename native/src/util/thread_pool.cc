#include "util/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

namespace tessera {
namespace {

thread_local bool insidePool = false;
std::atomic<void (*)(int)> threadCountListener{nullptr};

int ThreadsFromEnvironment() {
  const char* env = std::getenv("TESSERA_NUM_THREADS");
  if (env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long value = std::strtol(env, &end, 10);
    if (end != nullptr && *end == '\0' && value >= 1 && value <= 1024) return static_cast<int>(value);
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

}  // namespace

ThreadPool& ThreadPool::Global() {
  // Leaked on purpose: joining threads during static destruction at process exit can deadlock.
  static ThreadPool* pool = new ThreadPool(ThreadsFromEnvironment());
  return *pool;
}

ThreadPool::ThreadPool(int threads) { Start(threads); }
ThreadPool::~ThreadPool() { Stop(); }

void ThreadPool::Start(int threads) {
  stopping_ = false;
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

void ThreadPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void ThreadPool::Resize(int threads) {
  std::lock_guard<std::mutex> submit(submitMutex_);
  Stop();
  Start(std::max(1, threads));
}

void ThreadPool::WorkerLoop() {
  insidePool = true;
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
    }
    RunChunks();
  }
}

void ThreadPool::RunChunks() {
  for (;;) {
    int64_t index;
    const RangeFn* job;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (job_ == nullptr || nextChunk_ >= chunkCount_) return;
      index = nextChunk_++;
      job = job_;
    }
    const int64_t begin = index * chunk_;
    const int64_t end = std::min(jobSize_, begin + chunk_);
    std::exception_ptr failure;
    try {
      (*job)(begin, end);
    } catch (...) {
      failure = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (failure && !error_) error_ = failure;
    if (++chunksDone_ == chunkCount_) done_.notify_all();
  }
}

void ThreadPool::ParallelFor(int64_t n, int64_t grain, const RangeFn& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  if (insidePool || workers_.empty() || n <= grain) {
    fn(0, n);
    return;
  }
  const int64_t threads = static_cast<int64_t>(workers_.size()) + 1;
  // A few chunks per thread balance uneven rows without much locking.
  Run(n, std::max(grain, (n + threads * 4 - 1) / (threads * 4)), fn);
}

void ThreadPool::ParallelForEach(int64_t n, const RangeFn& fn) {
  if (n <= 0) return;
  if (insidePool || workers_.empty() || n == 1) {
    fn(0, n);
    return;
  }
  Run(n, 1, fn);
}

void ThreadPool::Run(int64_t n, int64_t chunk, const RangeFn& fn) {
  std::lock_guard<std::mutex> submit(submitMutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    jobSize_ = n;
    chunk_ = chunk;
    nextChunk_ = 0;
    chunkCount_ = (n + chunk - 1) / chunk;
    chunksDone_ = 0;
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  insidePool = true;
  RunChunks();
  insidePool = false;
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return chunksDone_ == chunkCount_; });
    job_ = nullptr;
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

void OnThreadCountChange(void (*listener)(int threads)) { threadCountListener.store(listener); }

int NumThreads() { return ThreadPool::Global().Size(); }

void SetNumThreads(int threads) {
  threads = std::max(1, threads);
  ThreadPool::Global().Resize(threads);
  if (auto listener = threadCountListener.load()) listener(threads);
}

}  // namespace tessera
