// A Napi::AsyncWorker that returns a Promise: `execute` runs on the libuv pool and touches only native
// data; any exception it throws becomes the rejection's message; `resolve` builds the JS value on the
// main thread. Used for the store's blocking calls and for rendezvous.
#pragma once

#include <napi.h>

#include <functional>
#include <string>

namespace tessera {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  using ExecuteFn = std::function<void()>;
  using ResolveFn = std::function<Napi::Value(Napi::Env)>;

  // Queues the work and returns its promise.
  static Napi::Promise Start(Napi::Env env, const char* name, ExecuteFn execute, ResolveFn resolve) {
    auto* worker = new PromiseWorker(env, name, std::move(execute), std::move(resolve));  // freed by libuv
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 protected:
  void Execute() override {
    try {
      execute_();
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      SetError("unknown native error");
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(resolve_ ? resolve_(env) : env.Undefined());
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (const std::exception& e) {
      deferred_.Reject(Napi::Error::New(env, e.what()).Value());
    }
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  PromiseWorker(Napi::Env env, const char* name, ExecuteFn execute, ResolveFn resolve)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), execute_(std::move(execute)),
        resolve_(std::move(resolve)) {}

  Napi::Promise::Deferred deferred_;
  ExecuteFn execute_;
  ResolveFn resolve_;
};

}  // namespace tessera
