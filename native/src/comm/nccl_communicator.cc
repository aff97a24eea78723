#include "comm/nccl_communicator.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "comm/failure_state.h"
#include "comm/nccl_api.h"
#include "comm/worker_pool.h"
#include "util/errors.h"

namespace tessera::comm {

namespace {

using namespace nccl;

ncclDataType_t ToNccl(DType dtype) {
  switch (dtype) {
    case DType::kI8: return 0;
    case DType::kU8: return 1;
    case DType::kI32: return 2;
    case DType::kI64: return 4;
    case DType::kF16: return 6;
    case DType::kF32: return 7;
    case DType::kF64: return 8;
    case DType::kBF16: return 9;
  }
  return 1;
}

// An operation enqueued on the stream, waiting for its event.
struct InFlight {
  uint64_t number = 0;  // the operation's place in call order (Started())
  CUevent event = nullptr;
  std::chrono::steady_clock::time_point deadline;
  std::string what;
  Done done;
};

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(const Api& api, const NcclOptions& o, CUcontext ctx, ncclComm_t comm, CUstream stream)
      : api_(api), rank_(o.rank), size_(o.size), device_(o.cudaDevice), timeout_(o.timeout), ctx_(ctx), comm_(comm), stream_(stream) {
    watchdog_ = std::thread([this] { Watch(); });
  }

  ~NcclCommunicator() override { Close(); }

  int Rank() const override { return rank_; }
  int Size() const override { return size_; }
  const char* Backend() const override { return "nccl"; }
  std::string Failure() const override { return failure_.Reason(); }
  uint64_t Started() const override { return started_.load(); }

  // The communicator's stream runs its operations in call order, so operation n's event marks it and
  // everything before it. Waits (bounded by the timeout) only for the lane to issue operation n, which
  // it does as soon as it is free; then queues cuStreamWaitEvent on the default stream. An operation the
  // watchdog has already seen complete needs no wait.
  std::string OrderDefaultStream(uint64_t operation) override {
    if (operation == 0 || operation > started_.load()) {
      return "nccl: operation " + std::to_string(operation) + " was never started on this communicator (started: " +
             std::to_string(started_.load()) + ")";
    }
    std::unique_lock<std::mutex> lock(mutex_);
    const bool issued = issuedCv_.wait_for(lock, timeout_, [&] { return issued_ >= operation || failure_.Failed(); });
    if (failure_.Failed()) return failure_.Reason();
    std::string error;
    if (!issued) {
      error = "nccl operation " + std::to_string(operation) + " was not issued within " + std::to_string(timeout_.count()) +
              " ms (the communicator's lane is stuck in an earlier operation)";
    } else {
      for (const InFlight& op : inFlight_) {
        if (op.number != operation) continue;
        // Under mutex_: the watchdog cannot finish the operation and destroy its event meanwhile.
        const CUresult current = api_.CtxSetCurrent(ctx_);
        const CUresult waited = current == kCudaSuccess ? api_.StreamWaitEvent(LegacyStream(), op.event, 0) : current;
        if (waited != kCudaSuccess) {
          error = "nccl " + op.what + ": " +
                  CudaError(api_, current == kCudaSuccess ? "cuStreamWaitEvent on the default stream" : "cuCtxSetCurrent", waited);
        }
        break;
      }
    }
    if (error.empty()) return error;
    lock.unlock();
    Abort(error);
    return failure_.Reason();
  }

  void AllReduce(Memory buf, DType dtype, ReduceOp op, Done done) override {
    Enqueue("allReduce", std::move(done), {buf}, [=] {
      return Check("ncclAllReduce", api_.AllReduce(buf.data, buf.data, buf.bytes / DTypeSize(dtype), ToNccl(dtype),
                                                   op == ReduceOp::kSum ? kNcclSum : kNcclMax, comm_, stream_));
    });
  }

  void AllGather(Memory in, Memory out, DType dtype, Done done) override {
    Enqueue("allGather", std::move(done), {in, out}, [=] {
      return Check("ncclAllGather", api_.AllGather(in.data, out.data, in.bytes / DTypeSize(dtype), ToNccl(dtype), comm_, stream_));
    });
  }

  void AllToAll(Memory in, Memory out, DType dtype, Done done) override {
    const int64_t chunk = static_cast<int64_t>(in.bytes / DTypeSize(dtype) / static_cast<std::size_t>(size_));
    std::vector<int64_t> counts(static_cast<std::size_t>(size_), chunk);
    AllToAllV(in, counts, out, counts, dtype, std::move(done));
  }

  void AllToAllV(Memory in, std::vector<int64_t> inCounts, Memory out, std::vector<int64_t> outCounts, DType dtype,
                 Done done) override {
    Enqueue("allToAll", std::move(done), {in, out}, [=] {
      const std::size_t esize = DTypeSize(dtype);
      std::size_t inOff = 0;
      std::size_t outOff = 0;
      std::string err = Check("ncclGroupStart", api_.GroupStart());
      for (int r = 0; r < size_ && err.empty(); ++r) {
        const auto inN = static_cast<std::size_t>(inCounts[static_cast<std::size_t>(r)]);
        const auto outN = static_cast<std::size_t>(outCounts[static_cast<std::size_t>(r)]);
        err = Check("ncclSend", api_.Send(static_cast<char*>(in.data) + inOff * esize, inN, ToNccl(dtype), r, comm_, stream_));
        if (err.empty()) {
          err = Check("ncclRecv", api_.Recv(static_cast<char*>(out.data) + outOff * esize, outN, ToNccl(dtype), r, comm_, stream_));
        }
        inOff += inN;
        outOff += outN;
      }
      const std::string end = Check("ncclGroupEnd", api_.GroupEnd());
      return err.empty() ? end : err;
    });
  }

  void Broadcast(Memory buf, int root, DType dtype, Done done) override {
    Enqueue("broadcast", std::move(done), {buf}, [=] {
      return Check("ncclBroadcast", api_.Broadcast(buf.data, buf.data, buf.bytes / DTypeSize(dtype), ToNccl(dtype), root, comm_, stream_));
    });
  }

  void Send(Memory buf, int peer, uint64_t tag, Done done) override {
    Exchange({Transfer{buf, peer, tag}}, {}, std::move(done));
  }
  void Recv(Memory buf, int peer, uint64_t tag, Done done) override {
    Exchange({}, {Transfer{buf, peer, tag}}, std::move(done));
  }

  void Exchange(std::vector<Transfer> sends, std::vector<Transfer> recvs, Done done) override {
    std::vector<Memory> mems;
    for (const Transfer& t : sends) mems.push_back(t.buf);
    for (const Transfer& t : recvs) mems.push_back(t.buf);
    Enqueue("send/recv", std::move(done), mems, [this, sends = std::move(sends), recvs = std::move(recvs)] {
      // Bytes as u8: transfers need no element type, only matching byte counts on both sides.
      std::string err = Check("ncclGroupStart", api_.GroupStart());
      for (const Transfer& t : sends) {
        if (err.empty()) err = Check("ncclSend", api_.Send(t.buf.data, t.buf.bytes, 1, t.peer, comm_, stream_));
      }
      for (const Transfer& t : recvs) {
        if (err.empty()) err = Check("ncclRecv", api_.Recv(t.buf.data, t.buf.bytes, 1, t.peer, comm_, stream_));
      }
      const std::string end = Check("ncclGroupEnd", api_.GroupEnd());
      return err.empty() ? end : err;
    });
  }

  void Barrier(Done done) override {
    Enqueue("barrier", std::move(done), {}, [this] {
      if (barrierBuf_ == 0) {
        const CUresult rc = api_.MemAlloc(&barrierBuf_, sizeof(float));
        if (rc != kCudaSuccess) return CudaError(api_, "cuMemAlloc", rc);
      }
      void* p = reinterpret_cast<void*>(static_cast<uintptr_t>(barrierBuf_));
      return Check("ncclAllReduce", api_.AllReduce(p, p, 1, ToNccl(DType::kF32), kNcclSum, comm_, stream_));
    });
  }

  void Abort(const std::string& reason) override {
    if (!failure_.Fail(reason)) return;
    // The watchdog owns ncclCommAbort (it must not race an enqueue on the lane); wake it.
    std::lock_guard<std::mutex> lock(mutex_);
    wake_.notify_all();
  }

  void Close() override {
    Abort("communicator closed");
    // A second caller (close() on the libuv pool racing the finalizer or the exit hook) must also return
    // only once the threads are joined and the comm is released.
    std::lock_guard<std::mutex> closeLock(closeMutex_);
    lane_.Stop();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      wake_.notify_all();
    }
    if (watchdog_.joinable()) watchdog_.join();
    if (comm_ != nullptr) {
      api_.CtxSetCurrent(ctx_);
      // Close() failed the communicator, so the watchdog has aborted it (abort works for healthy comms
      // too and never blocks on peers); abort here only if the watchdog never got to it.
      if (!aborted_) api_.CommAbort(comm_);
      comm_ = nullptr;
      if (barrierBuf_ != 0) api_.MemFree(barrierBuf_);
      barrierBuf_ = 0;
      api_.StreamDestroy(stream_);
      api_.PrimaryCtxRelease(device_);
    }
  }

 private:
  std::string Check(const char* call, ncclResult_t rc) const {
    return rc == kNcclSuccess || rc == kNcclInProgress ? std::string() : NcclError(api_, call, rc);
  }

  // Runs `issue` on the lane (device context current), then hands its event to the watchdog.
  //
  // Ordering with compute: every kernel of the CUDA backend runs on the default (legacy) stream, and the
  // communicator's stream is non-blocking, so nothing orders the two by itself. An event recorded on the
  // default stream here, on the calling (JavaScript) thread, marks "everything queued before this call";
  // the lane makes the communicator's stream wait for it before issuing. So the operation reads buffers
  // only after the kernels that wrote them, yet overlaps kernels queued after the call (Ring attention's
  // next block). The other direction needs no event: the caller touches the buffers again only after
  // `done`, which runs once the operation's own event completed.
  void Enqueue(const char* what, Done done, std::vector<Memory> mems, std::function<std::string()> issue) {
    if (failure_.Failed()) return done(failure_.Reason());  // a torn-down communicator says why first
    for (const Memory& m : mems) {
      if (!m.onDevice || m.cudaDevice != device_) {
        return done(std::string("nccl ") + what + ": buffers must be CUDA memory on device " + std::to_string(device_));
      }
    }
    CUevent ready = nullptr;
    const char* call = "cuCtxSetCurrent";
    CUresult rc = api_.CtxSetCurrent(ctx_);
    if (rc == kCudaSuccess) {
      call = "cuEventCreate";
      rc = api_.EventCreate(&ready, 2 /* CU_EVENT_DISABLE_TIMING */);
    }
    if (rc == kCudaSuccess) {
      call = "cuEventRecord on the default stream";
      rc = api_.EventRecord(ready, LegacyStream());
    }
    if (rc != kCudaSuccess) {
      if (ready != nullptr) api_.EventDestroy(ready);
      return done(std::string("nccl ") + what + ": " + CudaError(api_, call, rc));
    }
    const uint64_t number = ++started_;
    auto task = [this, what, ready, number, done = std::move(done), issue = std::move(issue)]() mutable {
      const CUresult current = api_.CtxSetCurrent(ctx_);
      // The wait keeps the event's state as of this call, so the event can go at once.
      const CUresult waited = current == kCudaSuccess ? api_.StreamWaitEvent(stream_, ready, 0) : current;
      api_.EventDestroy(ready);
      if (failure_.Failed()) {
        MarkIssued(number);
        return done(failure_.Reason());
      }
      std::string err;
      if (waited != kCudaSuccess) {
        err = CudaError(api_, current == kCudaSuccess ? "cuStreamWaitEvent" : "cuCtxSetCurrent", waited);
      } else {
        // The watchdog frees the comm on abort; never issue on it afterwards (see AbortComm).
        std::lock_guard<std::timed_mutex> issuing(issueMutex_);
        err = aborted_.load() ? failure_.Reason() : issue();
      }
      CUevent event = nullptr;
      if (err.empty()) {
        CUresult rc = api_.EventCreate(&event, 2 /* CU_EVENT_DISABLE_TIMING */);
        if (rc == kCudaSuccess) rc = api_.EventRecord(event, stream_);
        if (rc != kCudaSuccess) err = CudaError(api_, "cuEventRecord", rc);
      }
      if (!err.empty()) {
        if (event != nullptr) api_.EventDestroy(event);
        Abort(err);
        MarkIssued(number);
        return done(failure_.Reason());
      }
      std::lock_guard<std::mutex> lock(mutex_);
      inFlight_.push_back(InFlight{number, event, std::chrono::steady_clock::now() + timeout_, what, std::move(done)});
      issued_ = number;
      issuedCv_.notify_all();
      wake_.notify_all();
    };
    if (!lane_.Submit(std::move(task))) {
      api_.EventDestroy(ready);
      Abort("communicator closed");  // Submit refuses only once Close began, which failed it first
      MarkIssued(number);
      done(failure_.Reason());
    }
  }

  // The lane is done with operation `number` (issued, or failed before it could be): wakes
  // OrderDefaultStream, which then finds its event in flight, or the failure.
  void MarkIssued(uint64_t number) {
    std::lock_guard<std::mutex> lock(mutex_);
    issued_ = std::max(issued_, number);
    issuedCv_.notify_all();
  }

  // Resolves finished operations in stream order; aborts the communicator on error or timeout.
  void Watch() {
    // Without the context the watchdog cannot query events: every operation fails with the reason.
    const CUresult current = api_.CtxSetCurrent(ctx_);
    if (current != kCudaSuccess) failure_.Fail(CudaError(api_, "cuCtxSetCurrent on the watchdog thread", current));
    std::unique_lock<std::mutex> lock(mutex_);
    auto pause = std::chrono::microseconds(20);
    for (;;) {
      if (inFlight_.empty()) {
        if (stopping_) return;
        wake_.wait(lock, [this] { return stopping_ || !inFlight_.empty() || (failure_.Failed() && !aborted_); });
        if (failure_.Failed() && !aborted_) AbortComm(lock);
        pause = std::chrono::microseconds(20);
        continue;
      }
      InFlight& op = inFlight_.front();
      std::string error;
      CUresult q = kCudaNotReady;
      if (failure_.Failed()) {
        error = failure_.Reason();  // never query a comm that may already be aborted
      } else {
        q = api_.EventQuery(op.event);
        ncclResult_t async = kNcclSuccess;
        const ncclResult_t asked = api_.CommGetAsyncError(comm_, &async);
        if (q != kCudaSuccess && q != kCudaNotReady) {
          error = CudaError(api_, "cuEventQuery", q);
        } else if (asked != kNcclSuccess) {
          error = NcclError(api_, "ncclCommGetAsyncError", asked);
        } else if (async != kNcclSuccess && async != kNcclInProgress) {
          error = NcclError(api_, "async", async);
        } else if (q == kCudaNotReady && std::chrono::steady_clock::now() > op.deadline) {
          error = "nccl " + op.what + " timed out after " + std::to_string(timeout_.count()) + " ms (a peer is dead or stalled)";
        }
      }
      if (q == kCudaSuccess && error.empty()) {
        Finish(lock, "");
        pause = std::chrono::microseconds(20);
        continue;
      }
      if (!error.empty()) {
        failure_.Fail(error);
        AbortComm(lock);
        while (!inFlight_.empty()) Finish(lock, failure_.Reason());
        continue;
      }
      // Not done yet: back off up to 1 ms so polling stays cheap for long operations.
      wake_.wait_for(lock, pause);
      pause = std::min(pause * 2, std::chrono::microseconds(1000));
    }
  }

  void Finish(std::unique_lock<std::mutex>& lock, const std::string& error) {
    InFlight op = std::move(inFlight_.front());
    inFlight_.pop_front();
    lock.unlock();
    api_.EventDestroy(op.event);
    op.done(error);
    lock.lock();
  }

  // Waits briefly for an enqueue in progress to leave NCCL, then aborts. If the lane is stuck inside an
  // NCCL call (a blocking group end with a dead peer), abort anyway: breaking such hangs from another
  // thread is what ncclCommAbort is for.
  void AbortComm(std::unique_lock<std::mutex>& lock) {
    if (aborted_.load()) return;
    lock.unlock();
    const bool locked = issueMutex_.try_lock_for(std::chrono::milliseconds(200));
    aborted_.store(true);
    api_.CommAbort(comm_);
    if (locked) issueMutex_.unlock();
    lock.lock();
  }

  const Api& api_;
  const int rank_;
  const int size_;
  const int device_;
  const std::chrono::milliseconds timeout_;
  CUcontext ctx_;
  ncclComm_t comm_;
  CUstream stream_;
  CUdeviceptr barrierBuf_ = 0;
  FailureState failure_;
  std::mutex mutex_;
  std::mutex closeMutex_;
  std::condition_variable wake_;
  std::deque<InFlight> inFlight_;
  std::atomic<uint64_t> started_{0};  // numbered on the calling thread, in call order
  uint64_t issued_ = 0;               // the last number the lane is done with (under mutex_)
  std::condition_variable issuedCv_;
  bool stopping_ = false;
  std::atomic<bool> aborted_{false};
  std::timed_mutex issueMutex_;
  std::thread watchdog_;
  WorkerPool lane_{1};
};

}  // namespace

std::unique_ptr<Communicator> ConnectNccl(const NcclOptions& o) {
  const Api& api = LoadApi();
  CUdevice dev = 0;
  CUcontext ctx = nullptr;
  CUresult rc = api.DeviceGet(&dev, o.cudaDevice);
  if (rc != kCudaSuccess) Fail(CudaError(api, "cuDeviceGet", rc));
  rc = api.PrimaryCtxRetain(&ctx, dev);
  if (rc != kCudaSuccess) Fail(CudaError(api, "cuDevicePrimaryCtxRetain", rc));
  rc = api.CtxSetCurrent(ctx);
  if (rc != kCudaSuccess) {
    api.PrimaryCtxRelease(dev);
    Fail(CudaError(api, "cuCtxSetCurrent", rc));
  }

  ncclUniqueId id{};
  const std::string key = o.prefix + "/nccl-unique-id";
  store::TcpStoreClient client(o.store);
  if (o.rank == 0) {
    const ncclResult_t r = api.GetUniqueId(&id);
    if (r != kNcclSuccess) {
      api.PrimaryCtxRelease(dev);
      Fail(NcclError(api, "ncclGetUniqueId", r));
    }
    client.Set(key, std::vector<char>(id.internal, id.internal + sizeof(id.internal)));
  } else {
    const std::vector<char> bytes = client.Get(key, o.timeout);
    if (bytes.size() != sizeof(id.internal)) {
      Fail("NCCL unique id under '" + key + "' has " + std::to_string(bytes.size()) + " bytes, expected 128");
    }
    std::memcpy(id.internal, bytes.data(), sizeof(id.internal));
  }
  ncclComm_t comm = nullptr;
  const ncclResult_t r = api.CommInitRank(&comm, o.size, id, o.rank);
  if (r != kNcclSuccess) {
    api.PrimaryCtxRelease(dev);
    Fail(NcclError(api, "ncclCommInitRank", r));
  }
  CUstream stream = nullptr;
  rc = api.StreamCreate(&stream, 1 /* CU_STREAM_NON_BLOCKING */);
  if (rc != kCudaSuccess) {
    api.CommAbort(comm);
    api.PrimaryCtxRelease(dev);
    Fail(CudaError(api, "cuStreamCreate", rc));
  }
  return std::make_unique<NcclCommunicator>(api, o, ctx, comm, stream);
}

}  // namespace tessera::comm
