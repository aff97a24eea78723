// Reading plain options objects and arguments from JavaScript with checks that name the field.
#pragma once

#include <napi.h>

#include <cmath>
#include <string>

#include "util/errors.h"

namespace tessera::js {

inline Napi::Value Field(const Napi::Object& o, const char* key) { return o.Get(key); }

inline std::string StringField(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) FailType(std::string("option '") + key + "' must be a string");
  return v.As<Napi::String>().Utf8Value();
}

inline std::string StringFieldOr(const Napi::Object& o, const char* key, const std::string& fallback) {
  Napi::Value v = o.Get(key);
  return v.IsUndefined() ? fallback : StringField(o, key);
}

inline int64_t IntValue(const Napi::Value& v, const std::string& what, int64_t min, int64_t max) {
  if (!v.IsNumber()) FailType(what + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d || d < static_cast<double>(min) || d > static_cast<double>(max)) {
    Fail(what + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " + std::to_string(d));
  }
  return static_cast<int64_t>(d);
}

inline int64_t IntField(const Napi::Object& o, const char* key, int64_t min, int64_t max) {
  return IntValue(o.Get(key), std::string("option '") + key + "'", min, max);
}

inline int64_t IntFieldOr(const Napi::Object& o, const char* key, int64_t min, int64_t max, int64_t fallback) {
  return o.Get(key).IsUndefined() ? fallback : IntField(o, key, min, max);
}

inline Napi::Object ObjectArg(const Napi::CallbackInfo& info, std::size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsObject()) FailType(std::string(what) + " must be an object");
  return info[i].As<Napi::Object>();
}

inline std::string StringArg(const Napi::CallbackInfo& info, std::size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString()) FailType(std::string(what) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

}  // namespace tessera::js
