// Error handling at the N-API boundary. Native code throws tessera::Error (a bad value: shape, dtype,
// field) or lets std exceptions escape; CallGuarded turns every one of them into a JavaScript Error so
// that no C++ exception or crash reaches Node.
#pragma once

#include <napi.h>

#include <new>
#include <stdexcept>
#include <string>

namespace tessera {

// A caller's mistake (bad argument, shape, dtype, file content); becomes a JS TypeError or Error.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, bool isTypeError = false)
      : std::runtime_error(message), isTypeError_(isTypeError) {}
  bool IsTypeError() const { return isTypeError_; }

 private:
  bool isTypeError_;
};

[[noreturn]] inline void Fail(const std::string& message) { throw Error(message); }
[[noreturn]] inline void FailType(const std::string& message) { throw Error(message, true); }

template <typename F>
auto CallGuarded(Napi::Env env, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;  // already a JS exception
  } catch (const Error& e) {
    if (e.IsTypeError()) throw Napi::TypeError::New(env, e.what());
    throw Napi::Error::New(env, e.what());
  } catch (const std::bad_alloc&) {
    throw Napi::Error::New(env, "native allocation failed: out of memory");
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("native error: ") + e.what());
  } catch (...) {
    throw Napi::Error::New(env, "native error: unknown exception");
  }
}

// Wraps a native function so it can be exported with Napi::Function::New.
template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  return CallGuarded(info.Env(), [&] { return Fn(info); });
}

}  // namespace tessera
