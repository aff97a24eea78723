// Threads that run a communicator's queued work. A pool of one thread is the serial lane for
// collectives; a wider pool waits on point-to-point transfers, which are all posted before they are
// waited on, so any number of waiters makes progress and more only lets completions report sooner.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tessera::comm {

class WorkerPool {
 public:
  explicit WorkerPool(std::size_t maxThreads) : maxThreads_(maxThreads == 0 ? 1 : maxThreads) {}
  ~WorkerPool() { Stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues a task (FIFO); starts another thread when none is idle and the cap allows. Tasks must not
  // throw. Returns false once Stop() has begun.
  bool Submit(std::function<void()> task);
  // Runs every task already queued, then joins the threads. Idempotent; never call from a pool thread.
  void Stop();

 private:
  void Loop();

  const std::size_t maxThreads_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace tessera::comm
