#include "comm/comm_binding.h"

#include "store/store_binding.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "comm/gloo_communicator.h"
#include "comm/js_args.h"
#include "comm/memory_arg.h"
#include "comm/nccl_communicator.h"
#include "comm/promise_worker.h"
#include "comm/validate.h"
#include "util/errors.h"

namespace tessera::comm {

namespace {

constexpr int64_t kMaxTimeoutMs = 24LL * 3600 * 1000;
constexpr int64_t kMaxRanks = 1 << 20;
constexpr int64_t kMaxTag = (1LL << 53) - 1;  // exact in a JS number

class CommunicatorWrap;

// One operation in flight: its promise and the JS values (buffers, the wrapper) kept alive until it settles.
struct PendingOp {
  Napi::Promise::Deferred deferred;
  std::vector<Napi::Reference<Napi::Value>> keepAlive;
  Napi::ObjectReference owner;
  CommunicatorWrap* wrap;
};

struct OpResult {
  PendingOp* op;
  std::string error;
};

void SettleOnJsThread(Napi::Env env, Napi::Function, std::nullptr_t*, OpResult* data);
using Completions = Napi::TypedThreadSafeFunction<std::nullptr_t, OpResult, SettleOnJsThread>;

class CommunicatorWrap : public Napi::ObjectWrap<CommunicatorWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeCommunicator",
                       {
                           InstanceAccessor<&CommunicatorWrap::Rank>("rank"),
                           InstanceAccessor<&CommunicatorWrap::Size>("size"),
                           InstanceAccessor<&CommunicatorWrap::Backend>("backend"),
                           InstanceAccessor<&CommunicatorWrap::Failure>("failure"),
                           InstanceAccessor<&CommunicatorWrap::Started>("started"),
                           InstanceMethod<&CommunicatorWrap::AllReduce>("allReduce"),
                           InstanceMethod<&CommunicatorWrap::AllGather>("allGather"),
                           InstanceMethod<&CommunicatorWrap::AllToAll>("allToAll"),
                           InstanceMethod<&CommunicatorWrap::AllToAllV>("allToAllV"),
                           InstanceMethod<&CommunicatorWrap::Broadcast>("broadcast"),
                           InstanceMethod<&CommunicatorWrap::Send>("send"),
                           InstanceMethod<&CommunicatorWrap::Recv>("recv"),
                           InstanceMethod<&CommunicatorWrap::Exchange>("exchange"),
                           InstanceMethod<&CommunicatorWrap::Barrier>("barrier"),
                           InstanceMethod<&CommunicatorWrap::OrderDefaultStream>("orderDefaultStream"),
                           InstanceMethod<&CommunicatorWrap::Abort>("abort"),
                           InstanceMethod<&CommunicatorWrap::Close>("close"),
                       });
  }

  // Built only by createCommunicator(), which passes the connected communicator as an External.
  explicit CommunicatorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CommunicatorWrap>(info) {
    if (info.Length() < 1 || !info[0].IsExternal()) {
      throw Napi::TypeError::New(info.Env(), "NativeCommunicator is created by createCommunicator()");
    }
    comm_ = *info[0].As<Napi::External<std::shared_ptr<Communicator>>>().Data();
    completions_ = Completions::New(info.Env(), "tessera.comm", 0, 1);
    completions_.Unref(info.Env());  // an idle communicator must not keep the process alive
    // Registered after completions_ on purpose: Node runs env cleanup hooks newest first, so this hook
    // runs before the one that closes completions_, while it still exists (see StopAtExit).
    env_ = info.Env();
    hookRegistered_ = napi_add_env_cleanup_hook(env_, &CommunicatorWrap::StopAtExit, this) == napi_ok;
  }

  // Garbage collected without close(), or finalized while the environment is torn down (after
  // StopAtExit). Runs on the JS thread and never touches JS. Cannot block for long: an in-flight
  // operation holds this object alive (PendingOp::owner), so the threads it joins are idle — at exit
  // StopAtExit has joined them already.
  ~CommunicatorWrap() override {
    if (hookRegistered_) napi_remove_env_cleanup_hook(env_, &CommunicatorWrap::StopAtExit, this);
    Stop("communicator dropped without close()");
  }

  // Env cleanup hook (the event loop drained, or a worker thread's env ends). At teardown Node closes
  // and frees every ThreadSafeFunction from its own cleanup hook; freeing the last one drops the napi
  // env's last reference, which only then runs the finalizers of all wrapped objects. So the destructor
  // alone would release completions_ that Node had already freed (use after free: with two or more
  // communicators the process aborted in uv_mutex_lock, SIGABRT). Stop the threads and release it here
  // instead, while it exists; the threads are joined first, so none of them posts to it once freed.
  static void StopAtExit(void* self) {
    auto* wrap = static_cast<CommunicatorWrap*>(self);
    wrap->hookRegistered_ = false;  // Node drops a hook once it ran: removing it again would be an error
    wrap->Stop("the process is exiting");
  }

  // Called on the JS thread once per settled operation.
  void Settled(Napi::Env env) {
    if (--pending_ == 0) completions_.Unref(env);
  }

 private:
  Napi::Value Rank(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), comm_->Rank()); }
  Napi::Value Size(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), comm_->Size()); }
  Napi::Value Backend(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), comm_->Backend()); }
  Napi::Value Failure(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), comm_->Failure()); }
  Napi::Value Started(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(comm_->Started()));
  }

  // orderDefaultStream(operation): synchronous, on the JS thread, because the wait must be queued on the
  // default stream before the kernels the caller launches next; throws the reason when it cannot.
  Napi::Value OrderDefaultStream(const Napi::CallbackInfo& info) {
    return CallGuarded(info.Env(), [&]() -> Napi::Value {
      const auto operation = static_cast<uint64_t>(js::IntValue(info[0], "operation", 1, kMaxTag));
      const std::string error = comm_->OrderDefaultStream(operation);
      if (!error.empty()) Fail(error);
      return info.Env().Undefined();
    });
  }

  // Creates the promise, keeps `keep` alive, and hands `start` the completion that settles it.
  Napi::Value Launch(const Napi::CallbackInfo& info, const std::vector<Napi::Value>& keep,
                     const std::function<void(Done)>& start) {
    Napi::Env env = info.Env();
    auto* op = new PendingOp{Napi::Promise::Deferred::New(env), {}, Napi::Persistent(info.This().As<Napi::Object>()), this};
    for (const Napi::Value& v : keep) op->keepAlive.push_back(Napi::Persistent(v));
    Napi::Promise promise = op->deferred.Promise();
    if (pending_++ == 0) completions_.Ref(env);
    Completions completions = completions_;
    auto settled = std::make_shared<std::atomic<bool>>(false);
    Done settle = [completions, op, settled](const std::string& error) mutable {
      if (settled->exchange(true)) return;  // exactly once, even if queuing failed half-way
      auto* result = new OpResult{op, error};
      // Fails only while the environment shuts down; the op's JS handles die with it.
      if (completions.BlockingCall(result) != napi_ok) delete result;
    };
    try {
      start(settle);
    } catch (const std::exception& e) {
      // Queuing itself failed (no thread could start, out of memory): settle now, or the pending
      // count would keep the process alive forever.
      settle(std::string("could not queue the operation: ") + e.what());
    }
    return promise;
  }

  Memory Mem(const Napi::CallbackInfo& info, std::size_t i, const char* what) {
    if (info.Length() <= i) FailType(std::string(what) + " is missing");
    return Reachable(ResolveMemory(info[i], what), what);
  }

  // gloo reads and writes host memory: a device pointer would be dereferenced on the CPU. The TypeScript
  // Communicator stages 'cuda' tensors through host copies before they get here.
  Memory Reachable(Memory m, const std::string& what) {
    if (m.onDevice && std::string(comm_->Backend()) == "gloo") {
      FailType(what + " is CUDA memory, which gloo cannot move: copy it to the host first (Communicator does)");
    }
    return m;
  }

  static DType DTypeArg(const Napi::CallbackInfo& info, std::size_t i) { return ParseDType(js::StringArg(info, i, "dtype")); }

  static std::vector<int64_t> CountsArg(const Napi::CallbackInfo& info, std::size_t i, const char* what) {
    if (info.Length() <= i || !info[i].IsArray()) FailType(std::string(what) + " must be an array of element counts");
    Napi::Array arr = info[i].As<Napi::Array>();
    std::vector<int64_t> counts;
    for (uint32_t k = 0; k < arr.Length(); ++k) counts.push_back(js::IntValue(arr.Get(k), what, 0, 1LL << 50));
    return counts;
  }

  Napi::Value AllReduce(const Napi::CallbackInfo& info) {
    return CallGuarded(info.Env(), [&] {
      Memory buf = Mem(info, 0, "allReduce buffer");
      const DType dtype = DTypeArg(info, 1);
      const ReduceOp op = ParseReduceOp(js::StringArg(info, 2, "reduce op"));
      CheckWholeElements("allReduce", "buffer", buf, dtype);
      return Launch(info, {info[0]}, [&](Done done) { comm_->AllReduce(buf, dtype, op, std::move(done)); });
    });
  }

  Napi::Value AllGather(const Napi::CallbackInfo& info) {
    return CallGuarded(info.Env(), [&] {
      Memory in = Mem(info, 0, "allGather input");
      Memory out = Mem(info, 1, "allGather output");
      const DType dtype = DTypeArg(info, 2);
      CheckAllGather(in, out, dtype, comm_->Size());
      return Launch(info, {info[0], info[1]}, [&](Done done) { comm_->AllGather(in, out, dtype, std::move(done)); });
    });
  }

  Napi::Value AllToAll(const Napi::CallbackInfo& info) {
    return CallGuarded(info.Env(), [&] {
      Memory in = Mem(info, 0, "allToAll input");
      Memory out = Mem(info, 1, "allToAll output");
      const DType dtype = DTypeArg(info, 2);
      CheckAllToAll(in, out, dtype, comm_->Size());
      return Launch(info, {info[0], info[1]}, [&](Done done) { comm_->AllToAll(in, out, dtype, std::move(done)); });
    });
  }

  Napi::Value AllToAllV(const Napi::CallbackInfo& info) {
    return CallGuarded(info.Env(), [&] {
      Memory in = Mem(info, 0, "allToAllV input");
      std::vector<int64_t> inCounts = CountsArg(info, 1, "allToAllV input counts");
      Memory out = Mem(info, 2, "allToAllV output");
      std::vector<int64_t> outCounts = CountsArg(info, 3, "allToAllV output counts");
      const DType dtype = DTypeArg(info, 4);
      CheckAllToAllV(in, inCounts, out, outCounts, dtype, comm_->Size());
      return Launch(info, {info[0], info[2]}, [&](Done done) {
        comm_->AllToAllV(in, std::move(inCounts), out, std::move(outCounts), dtype, std::move(done));
      });
    });
  }

  Napi::Value Broadcast(const Napi::CallbackInfo& info) {
    return CallGuarded(info.Env(), [&] {
      Memory buf = Mem(info, 0, "broadcast buffer");
      const int root = static_cast<int>(js::IntValue(info[1], "broadcast root", -1, kMaxRanks));
      const DType dtype = DTypeArg(info, 2);
      CheckRoot("broadcast", root, comm_->Size());
      CheckWholeElements("broadcast", "buffer", buf, dtype);
      return Launch(info, {info[0]}, [&](Done done) { comm_->Broadcast(buf, root, dtype, std::move(done)); });
    });
  }

  Transfer TransferArg(const Napi::Value& buf, const Napi::Value& peer, const Napi::Value& tag, const char* op) {
    Transfer t;
    t.buf = Reachable(ResolveMemory(buf, op), std::string(op) + " buffer");
    t.peer = static_cast<int>(js::IntValue(peer, std::string(op) + " peer", -1, kMaxRanks));
    t.tag = static_cast<uint64_t>(js::IntValue(tag, std::string(op) + " tag", 0, kMaxTag));
    CheckPeer(op, t.peer, comm_->Rank(), comm_->Size());
    return t;
  }

  Napi::Value Send(const Napi::CallbackInfo& info) {
    return CallGuarded(info.Env(), [&] {
      Transfer t = TransferArg(info[0], info[1], info[2], "send");
      return Launch(info, {info[0]}, [&](Done done) { comm_->Send(t.buf, t.peer, t.tag, std::move(done)); });
    });
  }

  Napi::Value Recv(const Napi::CallbackInfo& info) {
    return CallGuarded(info.Env(), [&] {
      Transfer t = TransferArg(info[0], info[1], info[2], "recv");
      return Launch(info, {info[0]}, [&](Done done) { comm_->Recv(t.buf, t.peer, t.tag, std::move(done)); });
    });
  }

  // exchange(sends: {buf, peer, tag}[], recvs: {buf, peer, tag}[])
  Napi::Value Exchange(const Napi::CallbackInfo& info) {
    return CallGuarded(info.Env(), [&] {
      std::vector<Napi::Value> keep;
      const auto list = [&](std::size_t i, const char* op) {
        if (info.Length() <= i || !info[i].IsArray()) FailType(std::string("exchange ") + op + " must be an array");
        Napi::Array arr = info[i].As<Napi::Array>();
        std::vector<Transfer> out;
        for (uint32_t k = 0; k < arr.Length(); ++k) {
          if (!arr.Get(k).IsObject()) FailType(std::string("exchange ") + op + " entries must be {buf, peer, tag}");
          Napi::Object o = arr.Get(k).As<Napi::Object>();
          out.push_back(TransferArg(o.Get("buf"), o.Get("peer"), o.Get("tag"), op));
          keep.push_back(o.Get("buf"));
        }
        return out;
      };
      std::vector<Transfer> sends = list(0, "send");
      std::vector<Transfer> recvs = list(1, "recv");
      return Launch(info, keep, [&](Done done) { comm_->Exchange(std::move(sends), std::move(recvs), std::move(done)); });
    });
  }

  Napi::Value Barrier(const Napi::CallbackInfo& info) {
    return CallGuarded(info.Env(), [&] { return Launch(info, {}, [&](Done done) { comm_->Barrier(std::move(done)); }); });
  }

  Napi::Value Abort(const Napi::CallbackInfo& info) {
    return CallGuarded(info.Env(), [&]() -> Napi::Value {
      const std::string reason = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "aborted";
      comm_->Abort(reason);
      return info.Env().Undefined();
    });
  }

  // Joins the threads on the libuv pool: it may wait for the transport to notice the abort.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    std::shared_ptr<Communicator> comm = comm_;
    return PromiseWorker::Start(info.Env(), "tessera.comm.close", [comm] { comm->Close(); }, nullptr);
  }

  // Fails what is pending (peers learn at once through the closed connections), joins the threads,
  // then drops this wrapper's hold on completions_. Idempotent; swallows every error: it runs from a
  // finalizer or an env cleanup hook, where an exception would terminate the process.
  void Stop(const std::string& reason) noexcept {
    try {
      comm_->Abort(reason);
      comm_->Close();
    } catch (...) {
      // Close() is not expected to throw; the process exits with its own code either way.
    }
    if (!released_) {
      released_ = true;
      completions_.Release();
    }
  }

  std::shared_ptr<Communicator> comm_;
  Completions completions_;
  std::size_t pending_ = 0;
  napi_env env_ = nullptr;
  bool hookRegistered_ = false;
  bool released_ = false;
};

void SettleOnJsThread(Napi::Env env, Napi::Function, std::nullptr_t*, OpResult* data) {
  std::unique_ptr<OpResult> result(data);
  std::unique_ptr<PendingOp> op(result->op);
  if (env == nullptr) return;  // shutting down: nothing left to settle
  // Called from Node's C code: a napi call that fails (JS can no longer run while the environment is
  // torn down) throws here and must not unwind through it.
  try {
    if (result->error.empty()) {
      op->deferred.Resolve(env.Undefined());
    } else {
      op->deferred.Reject(Napi::Error::New(env, result->error).Value());
    }
  } catch (...) {
    // Nothing to report to: no JS will observe this promise any more.
  }
  op->wrap->Settled(env);
}

// createCommunicator({ backend, host, port, secret, prefix, rank, size, timeoutMs, listenHost?, cudaDevice? })
Napi::Value CreateCommunicator(const Napi::CallbackInfo& info) {
  auto* ctor = static_cast<Napi::FunctionReference*>(info.Data());
  return CallGuarded(info.Env(), [&]() -> Napi::Value {
    Napi::Object o = js::ObjectArg(info, 0, "createCommunicator options");
    const std::string backend = js::StringField(o, "backend");
    store::StoreAddress address;
    address.host = js::StringField(o, "host");
    address.port = static_cast<uint16_t>(js::IntField(o, "port", 1, 65535));
    address.timeout = std::chrono::milliseconds(js::IntField(o, "timeoutMs", 1, kMaxTimeoutMs));
    address.secret = store::SecretField(o, "secret");
    const std::string prefix = js::StringField(o, "prefix");
    const int size = static_cast<int>(js::IntField(o, "size", 1, kMaxRanks));
    const int rank = static_cast<int>(js::IntField(o, "rank", 0, size - 1));
    auto holder = std::make_shared<std::shared_ptr<Communicator>>();
    PromiseWorker::ExecuteFn connect;
    if (backend == "gloo") {
      GlooOptions g{address, prefix, rank, size, address.timeout, js::StringFieldOr(o, "listenHost", "127.0.0.1")};
      connect = [g, holder] { *holder = ConnectGloo(g); };
    } else if (backend == "nccl") {
      NcclOptions n{address, prefix, rank, size, static_cast<int>(js::IntFieldOr(o, "cudaDevice", 0, 1024, 0)), address.timeout};
      connect = [n, holder] { *holder = ConnectNccl(n); };
    } else {
      FailType("option 'backend' must be 'gloo' or 'nccl', got '" + backend + "'");
    }
    return PromiseWorker::Start(info.Env(), "tessera.comm.connect", connect, [ctor, holder](Napi::Env env) -> Napi::Value {
      return ctor->New({Napi::External<std::shared_ptr<Communicator>>::New(env, holder.get())});
    });
  });
}

}  // namespace

void InitCommBinding(Napi::Env env, Napi::Object exports) {
  auto* ctor = new Napi::FunctionReference(Napi::Persistent(CommunicatorWrap::Define(env)));
  exports.AddFinalizer([](Napi::Env, Napi::FunctionReference* ref) { delete ref; }, ctor);
  exports.Set("NativeCommunicator", ctor->Value());
  exports.Set("createCommunicator", Napi::Function::New(env, CreateCommunicator, "createCommunicator", ctor));
}

}  // namespace tessera::comm
