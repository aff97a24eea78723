// Reading JavaScript arguments with messages that name the argument.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "util/errors.h"

namespace tessera {

inline bool IsMissing(const Napi::Value& v) { return v.IsUndefined() || v.IsNull(); }

inline double NumberArg(const Napi::CallbackInfo& info, std::size_t i, const char* name) {
  if (!info[i].IsNumber()) FailType(std::string(name) + ": expected a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

inline int64_t IntValue(const Napi::Value& v, const std::string& name) {
  if (!v.IsNumber()) FailType(name + ": expected an integer");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9007199254740991.0) {
    FailType(name + ": expected an integer, got " + std::to_string(d));
  }
  return static_cast<int64_t>(d);
}

inline int64_t IntArg(const Napi::CallbackInfo& info, std::size_t i, const char* name) {
  return IntValue(info[i], name);
}

inline std::vector<int64_t> IntArrayArg(const Napi::CallbackInfo& info, std::size_t i, const char* name) {
  if (!info[i].IsArray()) FailType(std::string(name) + ": expected an array of integers");
  const auto array = info[i].As<Napi::Array>();
  if (array.Length() > 64) FailType(std::string(name) + ": more than 64 entries");
  std::vector<int64_t> out(array.Length());
  for (uint32_t k = 0; k < array.Length(); ++k) {
    out[k] = IntValue(array.Get(k), std::string(name) + "[" + std::to_string(k) + "]");
  }
  return out;
}

inline std::string StringArg(const Napi::CallbackInfo& info, std::size_t i, const char* name) {
  if (!info[i].IsString()) FailType(std::string(name) + ": expected a string");
  return info[i].As<Napi::String>().Utf8Value();
}

}  // namespace tessera
