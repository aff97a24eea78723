#include "store/store_binding.h"

#include <memory>

#include "comm/js_args.h"
#include "comm/promise_worker.h"
#include "store/tcp_store_client.h"
#include "store/tcp_store_server.h"
#include "util/errors.h"

namespace tessera::store {

namespace {

constexpr int64_t kMaxTimeoutMs = 24LL * 3600 * 1000;

}  // namespace

std::shared_ptr<const GroupSecret> SecretField(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    FailType(std::string("option '") + key + "' must be a Uint8Array (the group secret)");
  }
  Napi::Uint8Array bytes = v.As<Napi::Uint8Array>();
  try {
    return std::make_shared<const GroupSecret>(std::vector<unsigned char>(bytes.Data(), bytes.Data() + bytes.ByteLength()));
  } catch (const std::invalid_argument& e) {
    Fail(std::string("option '") + key + "': " + e.what());
  }
}

namespace {

// new StoreServer(host, port, { secret }): listens at once; `port` is the bound port (useful with port 0).
class StoreServerWrap : public Napi::ObjectWrap<StoreServerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "StoreServer",
                       {InstanceAccessor<&StoreServerWrap::Port>("port"),
                        InstanceAccessor<&StoreServerWrap::Refused>("refusedConnections"),
                        InstanceMethod<&StoreServerWrap::Close>("close")});
  }

  explicit StoreServerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<StoreServerWrap>(info) {
    CallGuarded(info.Env(), [&] {
      const std::string host = js::StringArg(info, 0, "StoreServer host");
      const auto port = static_cast<uint16_t>(js::IntValue(info[1], "StoreServer port", 0, 65535));
      auto secret = SecretField(js::ObjectArg(info, 2, "StoreServer options"), "secret");
      server_ = std::make_unique<TcpStoreServer>(host, port, std::move(secret));
    });
  }

 private:
  Napi::Value Port(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), server_ ? server_->Port() : 0);
  }
  Napi::Value Refused(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), server_ ? static_cast<double>(server_->RefusedConnections()) : 0);
  }
  // Stopping joins the serving thread, which never blocks for long (poll with bounded waits).
  Napi::Value Close(const Napi::CallbackInfo& info) {
    server_.reset();
    return info.Env().Undefined();
  }

  std::unique_ptr<TcpStoreServer> server_;
};

class StoreClientWrap : public Napi::ObjectWrap<StoreClientWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "StoreClient",
                       {InstanceMethod<&StoreClientWrap::Set>("set"), InstanceMethod<&StoreClientWrap::Get>("get"),
                        InstanceMethod<&StoreClientWrap::Add>("add"), InstanceMethod<&StoreClientWrap::Wait>("wait"),
                        InstanceMethod<&StoreClientWrap::Delete>("delete"), InstanceMethod<&StoreClientWrap::Check>("check"),
                        InstanceMethod<&StoreClientWrap::Close>("close")});
  }

  // Built only by connectStore(), which passes the connected client as an External.
  explicit StoreClientWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<StoreClientWrap>(info) {
    if (info.Length() < 1 || !info[0].IsExternal()) {
      throw Napi::TypeError::New(info.Env(), "StoreClient is created by connectStore()");
    }
    client_ = *info[0].As<Napi::External<std::shared_ptr<TcpStoreClient>>>().Data();
  }

 private:
  std::shared_ptr<TcpStoreClient> Client(Napi::Env env) const {
    if (!client_) throw Napi::Error::New(env, "store client is closed");
    return client_;
  }

  static std::chrono::milliseconds TimeoutArg(const Napi::CallbackInfo& info, std::size_t i) {
    return std::chrono::milliseconds(js::IntValue(info[i], "timeoutMs", 0, kMaxTimeoutMs));
  }

  Napi::Value Set(const Napi::CallbackInfo& info) {
    return CallGuarded(info.Env(), [&]() -> Napi::Value {
      auto client = Client(info.Env());
      const std::string key = js::StringArg(info, 0, "store key");
      if (info.Length() < 2 || !info[1].IsTypedArray()) FailType("store value must be a Uint8Array");
      Napi::TypedArray ta = info[1].As<Napi::TypedArray>();
      const char* p = static_cast<const char*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
      std::vector<char> value(p, p + ta.ByteLength());
      return PromiseWorker::Start(info.Env(), "tessera.store.set", [client, key, value] { client->Set(key, value); }, nullptr);
    });
  }

  Napi::Value Get(const Napi::CallbackInfo& info) {
    return CallGuarded(info.Env(), [&]() -> Napi::Value {
      auto client = Client(info.Env());
      const std::string key = js::StringArg(info, 0, "store key");
      const auto timeout = TimeoutArg(info, 1);
      auto out = std::make_shared<std::vector<char>>();
      return PromiseWorker::Start(
          info.Env(), "tessera.store.get", [client, key, timeout, out] { *out = client->Get(key, timeout); },
          [out](Napi::Env env) -> Napi::Value { return Napi::Buffer<char>::Copy(env, out->data(), out->size()); });
    });
  }

  Napi::Value Add(const Napi::CallbackInfo& info) {
    return CallGuarded(info.Env(), [&]() -> Napi::Value {
      auto client = Client(info.Env());
      const std::string key = js::StringArg(info, 0, "store key");
      const int64_t delta = js::IntValue(info[1], "delta", -(1LL << 53), 1LL << 53);
      auto out = std::make_shared<int64_t>(0);
      return PromiseWorker::Start(
          info.Env(), "tessera.store.add", [client, key, delta, out] { *out = client->Add(key, delta); },
          [out](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, static_cast<double>(*out)); });
    });
  }

  Napi::Value Wait(const Napi::CallbackInfo& info) {
    return CallGuarded(info.Env(), [&]() -> Napi::Value {
      auto client = Client(info.Env());
      if (info.Length() < 1 || !info[0].IsArray()) FailType("store wait keys must be an array of strings");
      Napi::Array arr = info[0].As<Napi::Array>();
      std::vector<std::string> keys;
      for (uint32_t i = 0; i < arr.Length(); ++i) {
        Napi::Value k = arr.Get(i);
        if (!k.IsString()) FailType("store wait keys must be an array of strings");
        keys.push_back(k.As<Napi::String>().Utf8Value());
      }
      const auto timeout = TimeoutArg(info, 1);
      return PromiseWorker::Start(info.Env(), "tessera.store.wait", [client, keys, timeout] { client->Wait(keys, timeout); }, nullptr);
    });
  }

  Napi::Value Delete(const Napi::CallbackInfo& info) { return BoolCall(info, "tessera.store.delete", &TcpStoreClient::Delete); }
  Napi::Value Check(const Napi::CallbackInfo& info) { return BoolCall(info, "tessera.store.check", &TcpStoreClient::Check); }

  Napi::Value BoolCall(const Napi::CallbackInfo& info, const char* name, bool (TcpStoreClient::*fn)(const std::string&)) {
    return CallGuarded(info.Env(), [&]() -> Napi::Value {
      auto client = Client(info.Env());
      const std::string key = js::StringArg(info, 0, "store key");
      auto out = std::make_shared<bool>(false);
      return PromiseWorker::Start(
          info.Env(), name, [client, key, out, fn] { *out = ((*client).*fn)(key); },
          [out](Napi::Env env) -> Napi::Value { return Napi::Boolean::New(env, *out); });
    });
  }

  // Drops this handle; requests already running keep the connection until they finish.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    client_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<TcpStoreClient> client_;
};

// connectStore({ host, port, timeoutMs, secret }): connects, retrying while the server is not up yet,
// then proves the group secret.
Napi::Value ConnectStore(const Napi::CallbackInfo& info) {
  auto* ctor = static_cast<Napi::FunctionReference*>(info.Data());
  return CallGuarded(info.Env(), [&]() -> Napi::Value {
    Napi::Object o = js::ObjectArg(info, 0, "connectStore options");
    StoreAddress address;
    address.host = js::StringField(o, "host");
    address.port = static_cast<uint16_t>(js::IntField(o, "port", 1, 65535));
    address.timeout = std::chrono::milliseconds(js::IntField(o, "timeoutMs", 1, kMaxTimeoutMs));
    address.secret = SecretField(o, "secret");
    auto client = std::make_shared<std::shared_ptr<TcpStoreClient>>();
    return PromiseWorker::Start(
        info.Env(), "tessera.store.connect", [address, client] { *client = std::make_shared<TcpStoreClient>(address); },
        [ctor, client](Napi::Env env) -> Napi::Value {
          auto external = Napi::External<std::shared_ptr<TcpStoreClient>>::New(env, client.get());
          return ctor->New({external});  // the constructor copies the shared_ptr before `client` dies
        });
  });
}

}  // namespace

void InitStoreBinding(Napi::Env env, Napi::Object exports) {
  exports.Set("StoreServer", StoreServerWrap::Define(env));
  auto* clientCtor = new Napi::FunctionReference(Napi::Persistent(StoreClientWrap::Define(env)));
  exports.AddFinalizer([](Napi::Env, Napi::FunctionReference* ref) { delete ref; }, clientCtor);
  exports.Set("StoreClient", clientCtor->Value());
  exports.Set("connectStore", Napi::Function::New(env, ConnectStore, "connectStore", clientCtor));
}

}  // namespace tessera::store
