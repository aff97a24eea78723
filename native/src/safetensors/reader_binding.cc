// SafetensorsFile: a validated, memory-mapped safetensors file whose tensors are copied out one at a
// time (real shards are many GB; only the tensor being read is touched). Every error names the file.
#include "safetensors/reader_binding.h"

#include <cstring>
#include <memory>
#include <unordered_map>

#include "safetensors/header.h"
#include "safetensors/mapped_file.h"
#include "tensor/tensor_wrap.h"
#include "util/errors.h"
#include "util/napi_args.h"
#include "util/thread_pool.h"

namespace tessera {
namespace {

std::string FilePrefix(const std::string& path) { return "safetensors file '" + path + "': "; }

bool LoadableDType(const std::string& name, DType& out) {
  if (name == "F32") out = DType::F32;
  else if (name == "BF16") out = DType::BF16;
  else if (name == "F16") out = DType::F16;
  else return false;
  return true;
}

class SafetensorsFileWrap : public Napi::ObjectWrap<SafetensorsFileWrap> {
 public:
  explicit SafetensorsFileWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SafetensorsFileWrap>(info) {
    CallGuarded(info.Env(), [&] {
      path_ = StringArg(info, 0, "safetensors path");
      try {
        file_ = std::make_unique<MappedFile>(path_);
        header_ = ParseHeader(file_->Data(), file_->Size());
      } catch (const Error& e) {
        Fail(FilePrefix(path_) + e.what());
      }
      for (std::size_t i = 0; i < header_.tensors.size(); ++i) index_.emplace(header_.tensors[i].name, i);
      return 0;
    });
  }

  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SafetensorsFile",
                       {InstanceMethod<&SafetensorsFileWrap::Tensors>("tensors"),
                        InstanceMethod<&SafetensorsFileWrap::Metadata>("metadata"),
                        InstanceMethod<&SafetensorsFileWrap::Read>("read"),
                        InstanceMethod<&SafetensorsFileWrap::Close>("close"),
                        InstanceAccessor<&SafetensorsFileWrap::Path>("path")});
  }

 private:
  const TensorEntry& Entry(const std::string& name) const {
    if (!file_) Fail(FilePrefix(path_) + "file has been closed");
    auto it = index_.find(name);
    if (it == index_.end()) Fail(FilePrefix(path_) + "no tensor named \"" + name + "\"");
    return header_.tensors[it->second];
  }

  Napi::Value Path(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), path_); }

  // [{ name, dtype, shape, dataOffsets: [begin, end] }] in header order.
  Napi::Value Tensors(const Napi::CallbackInfo& info) {
    return CallGuarded(info.Env(), [&]() -> Napi::Value {
      if (!file_) Fail(FilePrefix(path_) + "file has been closed");
      Napi::Env env = info.Env();
      Napi::Array list = Napi::Array::New(env, header_.tensors.size());
      for (uint32_t i = 0; i < header_.tensors.size(); ++i) {
        const TensorEntry& t = header_.tensors[i];
        Napi::Object o = Napi::Object::New(env);
        o.Set("name", t.name);
        o.Set("dtype", t.dtype);
        Napi::Array shape = Napi::Array::New(env, t.shape.size());
        for (uint32_t d = 0; d < t.shape.size(); ++d) shape.Set(d, Napi::Number::New(env, static_cast<double>(t.shape[d])));
        o.Set("shape", shape);
        Napi::Array offsets = Napi::Array::New(env, 2);
        offsets.Set(0u, Napi::Number::New(env, static_cast<double>(t.begin)));
        offsets.Set(1u, Napi::Number::New(env, static_cast<double>(t.end)));
        o.Set("dataOffsets", offsets);
        list.Set(i, o);
      }
      return list;
    });
  }

  Napi::Value Metadata(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    for (const auto& [k, v] : header_.metadata) o.Set(k, v);
    return o;
  }

  // read(name, dtype?): copies one tensor out of the mapping, converting to `dtype` if given.
  Napi::Value Read(const Napi::CallbackInfo& info) {
    return CallGuarded(info.Env(), [&]() -> Napi::Value {
      const std::string name = StringArg(info, 0, "tensor name");
      const TensorEntry& e = Entry(name);
      DType stored;
      if (!LoadableDType(e.dtype, stored)) {
        Fail(FilePrefix(path_) + "tensor \"" + name + "\" has dtype " + e.dtype + "; only F32, BF16 and F16 can be loaded");
      }
      const DType wanted = IsMissing(info[1]) ? stored : ParseDType(StringArg(info, 1, "dtype"));
      Tensor raw = Empty(e.shape, stored);
      const std::size_t bytes = static_cast<std::size_t>(e.end - e.begin);
      const std::size_t at = static_cast<std::size_t>(header_.dataOffset + e.begin);
      // Copy in parallel chunks: page faults on the mapping are the cost, and they overlap across threads.
      file_->WillNeed(at, bytes);
      const int64_t chunk = 4 << 20;
      const unsigned char* src = file_->Data() + at;
      auto* dst = static_cast<unsigned char*>(raw.Raw());
      ParallelFor((static_cast<int64_t>(bytes) + chunk - 1) / chunk, 1, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
          const std::size_t off = static_cast<std::size_t>(c * chunk);
          std::memcpy(dst + off, src + off, std::min<std::size_t>(static_cast<std::size_t>(chunk), bytes - off));
        }
      });
      file_->DontNeed(at, bytes);
      return TensorWrap::NewInstance(info.Env(), wanted == stored ? std::move(raw) : ToDType(raw, wanted));
    });
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    file_.reset();
    return info.Env().Undefined();
  }

  std::string path_;
  std::unique_ptr<MappedFile> file_;
  Header header_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace

void RegisterSafetensors(Napi::Env env, Napi::Object exports) {
  exports.Set("SafetensorsFile", SafetensorsFileWrap::Define(env));
}

}  // namespace tessera
