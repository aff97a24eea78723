#include "comm/gloo_communicator.h"

#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/alltoall.h>
#include <gloo/alltoallv.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/common/error.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/transport/unbound_buffer.h>

#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "comm/failure_state.h"
#include "comm/gloo_auth_transport.h"
#include "comm/reduce_kernels.h"
#include "comm/worker_pool.h"

namespace tessera::comm {

namespace {

constexpr std::size_t kMaxP2pWaiters = 8;

// One TCP device (one event-loop thread) per host address and group secret, shared by every context of
// the process that uses both, as gloo intends. Its pairs authenticate with the secret.
std::shared_ptr<gloo::transport::Device> SharedDevice(const std::string& host,
                                                      const std::shared_ptr<const store::GroupSecret>& secret) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<gloo::transport::Device>> devices;
  const std::string key = host + "#" + secret->Fingerprint();
  std::lock_guard<std::mutex> lock(mutex);
  std::shared_ptr<gloo::transport::Device> dev = devices[key].lock();
  if (!dev) {
    dev = CreateAuthenticatedDevice(host, secret);
    devices[key] = dev;
  }
  return dev;
}

std::shared_ptr<gloo::rendezvous::Context> Rendezvous(gloo::rendezvous::Store& store, const std::string& prefix,
                                                      const GlooOptions& o, std::shared_ptr<gloo::transport::Device>& dev) {
  gloo::rendezvous::PrefixStore scoped(prefix, store);
  auto ctx = std::make_shared<gloo::rendezvous::Context>(o.rank, o.size);
  ctx->setTimeout(o.timeout);
  ctx->connectFullMesh(scoped, dev);
  return ctx;
}

class GlooCommunicator final : public Communicator {
 public:
  GlooCommunicator(const GlooOptions& o, std::shared_ptr<gloo::rendezvous::Context> coll,
                   std::shared_ptr<gloo::rendezvous::Context> p2p)
      : rank_(o.rank), size_(o.size), timeout_(o.timeout), coll_(std::move(coll)), p2p_(std::move(p2p)) {}

  ~GlooCommunicator() override { Close(); }

  int Rank() const override { return rank_; }
  int Size() const override { return size_; }
  const char* Backend() const override { return "gloo"; }
  std::string Failure() const override { return failure_.Reason(); }

  void AllReduce(Memory buf, DType dtype, ReduceOp op, Done done) override {
    Collective(std::move(done), [this, buf, dtype, op] {
      if (size_ == 1) return;
      // gloo counts elements of sizeof(T); only the width matters, the reduce function knows the type.
      switch (DTypeSize(dtype)) {
        case 8: return RunAllReduce<int64_t>(buf, ReduceFunction(dtype, op));
        case 4: return RunAllReduce<int32_t>(buf, ReduceFunction(dtype, op));
        case 2: return RunAllReduce<int16_t>(buf, ReduceFunction(dtype, op));
        default: return RunAllReduce<int8_t>(buf, ReduceFunction(dtype, op));
      }
    });
  }

  void AllGather(Memory in, Memory out, DType, Done done) override {
    Collective(std::move(done), [this, in, out] {
      if (size_ == 1) return CopyLocal(in, out);
      gloo::AllgatherOptions opts(coll_);
      opts.setInput(static_cast<uint8_t*>(in.data), in.bytes);
      opts.setOutput(static_cast<uint8_t*>(out.data), out.bytes);
      opts.setTimeout(timeout_);
      gloo::allgather(opts);
    });
  }

  void AllToAll(Memory in, Memory out, DType, Done done) override {
    Collective(std::move(done), [this, in, out] {
      if (size_ == 1) return CopyLocal(in, out);
      gloo::AlltoallOptions opts(coll_);
      opts.setInput(static_cast<uint8_t*>(in.data), in.bytes);
      opts.setOutput(static_cast<uint8_t*>(out.data), out.bytes);
      opts.setTimeout(timeout_);
      gloo::alltoall(opts);
    });
  }

  void AllToAllV(Memory in, std::vector<int64_t> inCounts, Memory out, std::vector<int64_t> outCounts, DType dtype,
                 Done done) override {
    Collective(std::move(done), [this, in, out, inCounts = std::move(inCounts), outCounts = std::move(outCounts), dtype] {
      if (size_ == 1) return CopyLocal(in, out);
      // Byte counts with an element size of 1: the payload is opaque to gloo.
      const auto toBytes = [&](const std::vector<int64_t>& counts) {
        std::vector<int64_t> bytes(counts.size());
        for (std::size_t i = 0; i < counts.size(); ++i) bytes[i] = counts[i] * static_cast<int64_t>(DTypeSize(dtype));
        return bytes;
      };
      gloo::AlltoallvOptions opts(coll_);
      opts.setInput(static_cast<uint8_t*>(in.data), toBytes(inCounts));
      opts.setOutput(static_cast<uint8_t*>(out.data), toBytes(outCounts));
      opts.setTimeout(timeout_);
      gloo::alltoallv(opts);
    });
  }

  void Broadcast(Memory buf, int root, DType, Done done) override {
    Collective(std::move(done), [this, buf, root] {
      if (size_ == 1) return;
      gloo::BroadcastOptions opts(coll_);
      // In place: the root's output buffer is also its source.
      opts.setOutput(static_cast<uint8_t*>(buf.data), buf.bytes);
      opts.setRoot(root);
      opts.setTimeout(timeout_);
      gloo::broadcast(opts);
    });
  }

  void Barrier(Done done) override {
    Collective(std::move(done), [this] {
      if (size_ == 1) return;
      gloo::BarrierOptions opts(coll_);
      opts.setTimeout(timeout_);
      gloo::barrier(opts);
    });
  }

  void Send(Memory buf, int peer, uint64_t tag, Done done) override { PointToPoint(true, buf, peer, tag, std::move(done)); }
  void Recv(Memory buf, int peer, uint64_t tag, Done done) override { PointToPoint(false, buf, peer, tag, std::move(done)); }
  void Exchange(std::vector<Transfer> sends, std::vector<Transfer> recvs, Done done) override {
    PostAndWait(std::move(sends), std::move(recvs), std::move(done));
  }

  void Abort(const std::string& reason) override {
    if (!failure_.Fail(reason)) return;
    // Close first: once the pairs are closed nothing writes into a caller's buffer any more, so the
    // waiters woken below may report (and JS may free the memory) safely. Closing our side also makes
    // every peer's pending operation fail at once instead of at its timeout.
    CloseConnections(coll_);
    CloseConnections(p2p_);
    std::lock_guard<std::mutex> lock(pendingMutex_);
    for (gloo::transport::UnboundBuffer* ub : pendingP2p_) {
      ub->abortWaitSend();
      ub->abortWaitRecv();
    }
  }

  void Close() override {
    Abort("communicator closed");
    // A second caller (close() on the libuv pool racing the finalizer or the exit hook) must also return
    // only once the threads are joined: its caller may free what they post to next.
    std::lock_guard<std::mutex> lock(closeMutex_);
    lane_.Stop();
    waiters_.Stop();
  }

 private:
  template <typename T>
  void RunAllReduce(const Memory& buf, const ReduceFn& fn) {
    gloo::AllreduceOptions opts(coll_);
    opts.setOutput(static_cast<T*>(buf.data), buf.bytes / sizeof(T));
    opts.setReduceFunction(fn);
    opts.setTimeout(timeout_);
    gloo::allreduce(opts);
  }

  static void CopyLocal(const Memory& in, const Memory& out) {
    if (in.data != out.data) std::memmove(out.data, in.data, std::min(in.bytes, out.bytes));
  }

  static void CloseConnections(const std::shared_ptr<gloo::rendezvous::Context>& ctx) {
    try {
      ctx->closeConnections();
    } catch (const std::exception&) {
      // Already broken pairs may throw while closing; the communicator is dead either way.
    }
  }

  // Runs body on the serial lane; any exception fails the whole communicator.
  void Collective(Done done, std::function<void()> body) {
    auto task = [this, done = std::move(done), body = std::move(body)] {
      if (failure_.Failed()) return done(failure_.Reason());
      try {
        body();
        done("");
      } catch (const std::exception& e) {
        Abort(std::string("gloo collective failed: ") + e.what());
        done(failure_.Reason());
      }
    };
    if (!lane_.Submit(task)) done(failure_.Failed() ? failure_.Reason() : "communicator closed");
  }

  void PointToPoint(bool isSend, Memory buf, int peer, uint64_t tag, Done done) {
    std::vector<Transfer> one{Transfer{buf, peer, tag}};
    if (isSend) {
      PostAndWait(std::move(one), {}, std::move(done));
    } else {
      PostAndWait({}, std::move(one), std::move(done));
    }
  }

  struct Posted {
    std::shared_ptr<gloo::transport::UnboundBuffer> ub;
    bool isSend;
    std::string what;
  };

  // Posts every transfer in order from the calling thread, then waits for all of them on a waiter thread.
  void PostAndWait(std::vector<Transfer> sends, std::vector<Transfer> recvs, Done done) {
    std::vector<Posted> posted;
    std::string postError;
    {
      std::lock_guard<std::mutex> lock(pendingMutex_);
      if (failure_.Failed()) return done(failure_.Reason());
      const auto post = [&](const Transfer& t, bool isSend) {
        Posted p{nullptr, isSend, std::string("gloo ") + (isSend ? "send to rank " : "recv from rank ") + std::to_string(t.peer)};
        try {
          p.ub = p2p_->createUnboundBuffer(t.buf.data, t.buf.bytes);
          if (isSend) {
            p.ub->send(t.peer, t.tag);
          } else {
            p.ub->recv(t.peer, t.tag);
          }
          pendingP2p_.insert(p.ub.get());
          posted.push_back(std::move(p));
        } catch (const std::exception& e) {
          // Posting fails only on a broken pair: the peer is gone.
          if (postError.empty()) postError = p.what + " failed: " + e.what();
        }
      };
      for (const Transfer& t : sends) post(t, true);
      for (const Transfer& t : recvs) post(t, false);
    }
    if (!postError.empty()) Abort(postError);
    auto wait = [this, posted, done = std::move(done)]() mutable {
      for (const Posted& p : posted) {
        try {
          const bool completed = p.isSend ? p.ub->waitSend(timeout_) : p.ub->waitRecv(timeout_);
          if (!completed) Abort(p.what + " aborted");
        } catch (const std::exception& e) {
          Abort(p.what + " failed: " + e.what());
        }
      }
      {
        std::lock_guard<std::mutex> lock(pendingMutex_);
        for (const Posted& p : posted) pendingP2p_.erase(p.ub.get());
      }
      // Release the gloo buffers before reporting: after `done` the caller may free the memory.
      posted.clear();
      done(failure_.Failed() ? failure_.Reason() : "");
    };
    if (!waiters_.Submit(wait)) {
      Abort("communicator closed");
      std::lock_guard<std::mutex> lock(pendingMutex_);
      for (const Posted& p : posted) pendingP2p_.erase(p.ub.get());
      done(failure_.Reason());
    }
  }

  const int rank_;
  const int size_;
  const std::chrono::milliseconds timeout_;
  std::shared_ptr<gloo::rendezvous::Context> coll_;
  std::shared_ptr<gloo::rendezvous::Context> p2p_;
  FailureState failure_;
  std::mutex pendingMutex_;
  std::set<gloo::transport::UnboundBuffer*> pendingP2p_;
  std::mutex closeMutex_;
  // Declared last: destroyed (joined) first, while the contexts above are still alive.
  WorkerPool waiters_{kMaxP2pWaiters};
  WorkerPool lane_{1};
};

}  // namespace

std::unique_ptr<Communicator> ConnectGloo(const GlooOptions& o) {
  if (!o.store.secret) throw std::invalid_argument("a gloo communicator needs the group secret");
  std::shared_ptr<gloo::transport::Device> dev = SharedDevice(o.host, o.store.secret);
  store::TcpStoreClient client(o.store);
  auto coll = Rendezvous(client, o.prefix + "/coll", o, dev);
  auto p2p = Rendezvous(client, o.prefix + "/p2p", o, dev);
  return std::make_unique<GlooCommunicator>(o, std::move(coll), std::move(p2p));
}

}  // namespace tessera::comm
