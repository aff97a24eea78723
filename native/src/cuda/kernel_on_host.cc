// cudaKernelOnHost(op, buffers, params): runs one CUDA kernel on host arrays — uploads every buffer to
// device 0, launches, waits, downloads every buffer back in place. It exists so the kernels can be
// checked against CPU references from JavaScript (test/gpu/) and diagnosed on a machine without the
// tensor API; it is synchronous and copies everything, so model code goes through Api() instead.
//
// A Float32Array is f32 storage, a Uint16Array bf16 bit patterns; an empty array stands for an optional
// argument that is absent (NULL). Every size is checked against the params before anything is launched.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cuda/cuda_api.h"
#include "cuda/cuda_exports.h"
#include "cuda/device_memory.h"
#include "util/errors.h"

namespace tessera::cuda {
namespace {

struct HostBuffer {
  void* data = nullptr;
  size_t elements = 0;
  tessera_cuda_dtype dtype = TESSERA_CUDA_F32;
  size_t Bytes() const { return elements * (dtype == TESSERA_CUDA_F32 ? 4 : 2); }
};

// Device memory freed on scope exit, including when a later check throws.
class DeviceBuffer {
 public:
  DeviceBuffer(const CudaApi& api, size_t bytes) : api_(&api) { Check(api, api.malloc(&ptr_, bytes), "cudaMalloc"); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept : api_(other.api_), ptr_(other.ptr_) { other.ptr_ = nullptr; }
  DeviceBuffer& operator=(DeviceBuffer&&) = delete;
  ~DeviceBuffer() {
    if (ptr_) api_->free(ptr_);
  }
  void* get() const { return ptr_; }

 private:
  const CudaApi* api_;
  void* ptr_ = nullptr;
};

class Launch {
 public:
  Launch(std::string op, std::vector<HostBuffer> host, std::vector<double> params)
      : op_(std::move(op)), host_(std::move(host)), params_(std::move(params)) {}

  void ExpectBuffers(size_t count) const {
    if (host_.size() != count)
      Fail(op_ + ": expects " + std::to_string(count) + " buffers, got " + std::to_string(host_.size()));
  }
  void ExpectParams(size_t count) const {
    if (params_.size() < count)
      Fail(op_ + ": expects " + std::to_string(count) + " params, got " + std::to_string(params_.size()));
  }
  // A non-negative integer parameter.
  size_t Size(size_t i) const {
    const double v = params_.at(i);
    if (!(v >= 0) || v != std::floor(v) || v > 9007199254740991.0)
      Fail(op_ + ": param " + std::to_string(i) + " must be a non-negative integer, got " + std::to_string(v));
    return static_cast<size_t>(v);
  }
  float Real(size_t i) const { return static_cast<float>(params_.at(i)); }

  // Buffer i must hold exactly `elements` values of `dtype`; with optional, it may also be empty.
  void Need(size_t i, size_t elements, tessera_cuda_dtype dtype, bool optional = false) const {
    const HostBuffer& b = host_.at(i);
    if (optional && b.elements == 0) return;
    if (b.dtype != dtype)
      Fail(op_ + ": buffer " + std::to_string(i) + " must be a " +
           (dtype == TESSERA_CUDA_F32 ? "Float32Array (f32)" : "Uint16Array (bf16)"));
    if (b.elements != elements)
      Fail(op_ + ": buffer " + std::to_string(i) + " has " + std::to_string(b.elements) + " elements, expected " +
           std::to_string(elements));
  }
  tessera_cuda_dtype Dtype(size_t i) const { return host_.at(i).dtype; }
  size_t Elements(size_t i) const { return host_.at(i).elements; }
  const std::vector<HostBuffer>& Host() const { return host_; }
  const std::vector<double>& Params() const { return params_; }
  const std::string& Op() const { return op_; }

  void* Device(size_t i) const { return device_.at(i); }
  void SetDevice(std::vector<void*> device) { device_ = std::move(device); }

 private:
  std::string op_;
  std::vector<HostBuffer> host_;
  std::vector<double> params_;
  std::vector<void*> device_;  // NULL for an empty (absent) buffer
};

using Op = void (*)(const CudaApi&, const Launch&);

void RunBinary(const CudaApi& api, const Launch& l, tessera_cuda_binary_op op) {
  l.ExpectBuffers(3);
  const auto dt = l.Dtype(0);
  const size_t n = l.Elements(0), bn = l.Elements(1);
  l.Need(1, bn, dt);
  l.Need(2, n, dt);
  if (bn == 0 || n % bn != 0) Fail(l.Op() + ": buffer 1's length must divide buffer 0's");
  Check(api, api.binary(op, l.Device(0), n, l.Device(1), bn, l.Device(2), dt, nullptr), l.Op().c_str());
}

void RunUnary(const CudaApi& api, const Launch& l, tessera_cuda_unary_op op) {
  l.ExpectBuffers(2);
  l.Need(1, l.Elements(0), l.Dtype(0));
  Check(api, api.unary(op, l.Device(0), l.Device(1), l.Elements(0), l.Dtype(0), nullptr), l.Op().c_str());
}

// Rows of `cols` elements in buffer 0; returns the row count.
size_t Rows(const Launch& l, size_t cols) {
  if (cols == 0 || l.Elements(0) % cols != 0) Fail(l.Op() + ": cols must divide the length of buffer 0");
  return l.Elements(0) / cols;
}

const std::map<std::string, Op>& Ops() {
  static const std::map<std::string, Op> ops = {
      {"add", [](const CudaApi& api, const Launch& l) { RunBinary(api, l, TESSERA_CUDA_ADD); }},
      {"sub", [](const CudaApi& api, const Launch& l) { RunBinary(api, l, TESSERA_CUDA_SUB); }},
      {"mul", [](const CudaApi& api, const Launch& l) { RunBinary(api, l, TESSERA_CUDA_MUL); }},
      {"div", [](const CudaApi& api, const Launch& l) { RunBinary(api, l, TESSERA_CUDA_DIV); }},
      {"affine",
       [](const CudaApi& api, const Launch& l) {
         l.ExpectBuffers(2);
         l.ExpectParams(2);
         l.Need(1, l.Elements(0), l.Dtype(0));
         Check(api, api.affine(l.Device(0), l.Device(1), l.Elements(0), l.Real(0), l.Real(1), l.Dtype(0), nullptr),
               "affine");
       }},
      {"gelu_tanh", [](const CudaApi& api, const Launch& l) { RunUnary(api, l, TESSERA_CUDA_GELU_TANH); }},
      {"silu", [](const CudaApi& api, const Launch& l) { RunUnary(api, l, TESSERA_CUDA_SILU); }},
      {"convert",
       [](const CudaApi& api, const Launch& l) {
         l.ExpectBuffers(2);
         l.Need(1, l.Elements(0), l.Dtype(1));
         Check(api, api.convert(l.Device(0), l.Dtype(0), l.Device(1), l.Dtype(1), l.Elements(0), nullptr), "convert");
       }},
      {"layer_norm",
       [](const CudaApi& api, const Launch& l) {
         l.ExpectBuffers(4);
         l.ExpectParams(2);
         const auto dt = l.Dtype(0);
         const size_t cols = l.Size(0), rows = Rows(l, cols);
         l.Need(1, cols, dt, true);
         l.Need(2, cols, dt, true);
         l.Need(3, rows * cols, dt);
         Check(api, api.layer_norm(l.Device(0), l.Device(1), l.Device(2), l.Device(3), rows, cols, l.Real(1), dt, nullptr),
               "layer_norm");
       }},
      {"rms_norm",
       [](const CudaApi& api, const Launch& l) {
         l.ExpectBuffers(3);
         l.ExpectParams(2);
         const auto dt = l.Dtype(0);
         const size_t cols = l.Size(0), rows = Rows(l, cols);
         l.Need(1, cols, dt, true);
         l.Need(2, rows * cols, dt);
         Check(api, api.rms_norm(l.Device(0), l.Device(1), l.Device(2), rows, cols, l.Real(1), dt, nullptr), "rms_norm");
       }},
      {"softmax",
       [](const CudaApi& api, const Launch& l) {
         l.ExpectBuffers(2);
         l.ExpectParams(1);
         const auto dt = l.Dtype(0);
         const size_t cols = l.Size(0), rows = Rows(l, cols);
         l.Need(1, rows * cols, dt);
         Check(api, api.softmax(l.Device(0), l.Device(1), rows, cols, dt, nullptr), "softmax");
       }},
      {"modulate",
       [](const CudaApi& api, const Launch& l) {
         l.ExpectBuffers(4);
         l.ExpectParams(3);
         const auto dt = l.Dtype(0);
         const size_t b = l.Size(0), t = l.Size(1), d = l.Size(2);
         l.Need(0, b * t * d, dt);
         l.Need(1, b * d, dt);
         l.Need(2, b * d, dt);
         l.Need(3, b * t * d, dt);
         Check(api, api.modulate(l.Device(0), l.Device(1), l.Device(2), l.Device(3), b, t, d, dt, nullptr), "modulate");
       }},
      {"gated_residual",
       [](const CudaApi& api, const Launch& l) {
         l.ExpectBuffers(4);
         l.ExpectParams(3);
         const auto dt = l.Dtype(0);
         const size_t b = l.Size(0), t = l.Size(1), d = l.Size(2);
         l.Need(0, b * t * d, dt);
         l.Need(1, b * d, dt);
         l.Need(2, b * t * d, dt);
         l.Need(3, b * t * d, dt);
         Check(api, api.gated_residual(l.Device(0), l.Device(1), l.Device(2), l.Device(3), b, t, d, dt, nullptr),
               "gated_residual");
       }},
      {"rope",
       [](const CudaApi& api, const Launch& l) {
         l.ExpectBuffers(4);
         l.ExpectParams(4);
         const auto dt = l.Dtype(0);
         const size_t b = l.Size(0), s = l.Size(1), h = l.Size(2), d = l.Size(3);
         l.Need(0, b * s * h * d, dt);
         l.Need(1, s * d, TESSERA_CUDA_F32);
         l.Need(2, s * d, TESSERA_CUDA_F32);
         l.Need(3, b * s * h * d, dt);
         Check(api,
               api.rope(l.Device(0), static_cast<const float*>(l.Device(1)), static_cast<const float*>(l.Device(2)),
                        l.Device(3), b, s, h, d, dt, nullptr),
               "rope");
       }},
      {"attention",
       [](const CudaApi& api, const Launch& l) {
         l.ExpectBuffers(5);
         l.ExpectParams(6);
         const auto dt = l.Dtype(0);
         const size_t b = l.Size(0), sq = l.Size(1), skv = l.Size(2), h = l.Size(3), d = l.Size(4);
         l.Need(0, b * sq * h * d, dt);
         l.Need(1, b * skv * h * d, dt);
         l.Need(2, b * skv * h * d, dt);
         l.Need(3, b * sq * h * d, dt);
         l.Need(4, b * h * sq, TESSERA_CUDA_F32, true);
         Check(api,
               api.attention(l.Device(0), l.Device(1), l.Device(2), l.Device(3), static_cast<float*>(l.Device(4)), b, sq,
                             skv, h, d, l.Real(5), dt, nullptr),
               "attention");
       }},
      {"permute",
       [](const CudaApi& api, const Launch& l) {
         l.ExpectBuffers(2);
         l.ExpectParams(1);
         const size_t rank = l.Size(0);
         if (rank < 1 || rank > TESSERA_CUDA_MAX_RANK) Fail("permute: rank must be 1..6");
         l.ExpectParams(1 + 2 * rank);
         int64_t shape[TESSERA_CUDA_MAX_RANK];
         int perm[TESSERA_CUDA_MAX_RANK];
         size_t n = 1;
         for (size_t i = 0; i < rank; ++i) {
           shape[i] = static_cast<int64_t>(l.Size(1 + i));
           perm[i] = static_cast<int>(l.Size(1 + rank + i));
           n *= static_cast<size_t>(shape[i]);
         }
         l.Need(0, n, l.Dtype(0));
         l.Need(1, n, l.Dtype(0));
         Check(api, api.permute(l.Device(0), l.Device(1), int(rank), shape, perm, l.Dtype(0), nullptr), "permute");
       }},
      {"concat",
       [](const CudaApi& api, const Launch& l) {
         l.ExpectBuffers(3);
         l.ExpectParams(3);
         const auto dt = l.Dtype(0);
         const size_t outer = l.Size(0), ai = l.Size(1), bi = l.Size(2);
         l.Need(0, outer * ai, dt);
         l.Need(1, outer * bi, dt);
         l.Need(2, outer * (ai + bi), dt);
         Check(api, api.concat(l.Device(0), ai, l.Device(1), bi, l.Device(2), outer, dt, nullptr), "concat");
       }},
      {"group_norm",
       [](const CudaApi& api, const Launch& l) {
         l.ExpectBuffers(4);
         l.ExpectParams(5);
         const auto dt = l.Dtype(0);
         const size_t n = l.Size(0), c = l.Size(1), spatial = l.Size(2), groups = l.Size(3);
         l.Need(0, n * c * spatial, dt);
         l.Need(1, c, dt, true);
         l.Need(2, c, dt, true);
         l.Need(3, n * c * spatial, dt);
         Check(api,
               api.group_norm(l.Device(0), l.Device(1), l.Device(2), l.Device(3), n, c, spatial, groups, l.Real(4), dt,
                              nullptr),
               "group_norm");
       }},
      {"conv2d",
       [](const CudaApi& api, const Launch& l) {
         // params: n, c_in, h, w, c_out, kh, kw, stride_h, stride_w, pad_h, pad_w
         l.ExpectBuffers(4);
         l.ExpectParams(11);
         const auto dt = l.Dtype(0);
         size_t p[11];
         for (size_t i = 0; i < 11; ++i) p[i] = l.Size(i);
         if (p[7] == 0 || p[8] == 0 || p[2] + 2 * p[9] < p[5] || p[3] + 2 * p[10] < p[6])
           Fail("conv2d: stride must be positive and the kernel no larger than the padded input");
         const size_t out_h = (p[2] + 2 * p[9] - p[5]) / p[7] + 1, out_w = (p[3] + 2 * p[10] - p[6]) / p[8] + 1;
         l.Need(0, p[0] * p[1] * p[2] * p[3], dt);
         l.Need(1, p[4] * p[1] * p[5] * p[6], dt);
         l.Need(2, p[4], dt, true);
         l.Need(3, p[0] * p[4] * out_h * out_w, dt);
         Check(api,
               api.conv2d(l.Device(0), l.Device(1), l.Device(2), l.Device(3), p[0], p[1], p[2], p[3], p[4], p[5], p[6],
                          p[7], p[8], p[9], p[10], dt, nullptr),
               "conv2d");
       }},
      {"upsample_nearest",
       [](const CudaApi& api, const Launch& l) {
         l.ExpectBuffers(2);
         l.ExpectParams(6);
         const auto dt = l.Dtype(0);
         const size_t n = l.Size(0), c = l.Size(1), h = l.Size(2), w = l.Size(3), fh = l.Size(4), fw = l.Size(5);
         l.Need(0, n * c * h * w, dt);
         l.Need(1, n * c * h * fh * w * fw, dt);
         Check(api, api.upsample_nearest(l.Device(0), l.Device(1), n, c, h, w, fh, fw, dt, nullptr), "upsample_nearest");
       }},
      {"gemm",
       [](const CudaApi& api, const Launch& l) {
         l.ExpectBuffers(3);
         l.ExpectParams(7);
         const auto dt = l.Dtype(0);
         const size_t m = l.Size(2), n = l.Size(3), k = l.Size(4);
         l.Need(0, m * k, dt);
         l.Need(1, k * n, dt);
         l.Need(2, m * n, dt);
         Check(api,
               api.gemm(int(l.Size(0)), int(l.Size(1)), m, n, k, l.Real(5), l.Device(0), l.Device(1), l.Real(6),
                        l.Device(2), dt, nullptr),
               "gemm");
       }},
  };
  return ops;
}

HostBuffer ReadBuffer(const Napi::Value& value, size_t index) {
  if (value.IsTypedArray()) {
    Napi::TypedArray array = value.As<Napi::TypedArray>();
    HostBuffer b;
    if (array.TypedArrayType() == napi_float32_array) {
      b.dtype = TESSERA_CUDA_F32;
    } else if (array.TypedArrayType() == napi_uint16_array) {
      b.dtype = TESSERA_CUDA_BF16;
    } else {
      FailType("cudaKernelOnHost: buffer " + std::to_string(index) + " must be a Float32Array or a Uint16Array");
    }
    b.elements = array.ElementLength();
    b.data = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
    return b;
  }
  FailType("cudaKernelOnHost: buffer " + std::to_string(index) + " must be a Float32Array or a Uint16Array");
}

Napi::Value KernelOnHost(const Napi::CallbackInfo& info) {
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsArray() || !info[2].IsArray())
    FailType("cudaKernelOnHost(op: string, buffers: (Float32Array | Uint16Array)[], params: number[])");
  const std::string op = info[0].As<Napi::String>().Utf8Value();
  const auto found = Ops().find(op);
  if (found == Ops().end()) Fail("cudaKernelOnHost: unknown op '" + op + "'");

  std::vector<HostBuffer> host;
  Napi::Array buffers = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < buffers.Length(); ++i) host.push_back(ReadBuffer(buffers.Get(i), i));
  std::vector<double> params;
  Napi::Array paramArray = info[2].As<Napi::Array>();
  for (uint32_t i = 0; i < paramArray.Length(); ++i) {
    Napi::Value v = paramArray.Get(i);
    if (!v.IsNumber()) FailType("cudaKernelOnHost: param " + std::to_string(i) + " must be a number");
    params.push_back(v.As<Napi::Number>().DoubleValue());
  }

  const CudaApi* api = &RequireApi();
  Check(*api, api->set_device(0), "cudaSetDevice(0)");

  Launch launch(op, std::move(host), std::move(params));
  std::vector<DeviceBuffer> device;
  std::vector<void*> pointers;
  for (const HostBuffer& b : launch.Host()) {
    if (b.elements == 0) {
      pointers.push_back(nullptr);
      continue;
    }
    device.emplace_back(*api, b.Bytes());
    pointers.push_back(device.back().get());
    Check(*api, api->memcpy_h2d(pointers.back(), b.data, b.Bytes(), nullptr), "upload");
  }
  launch.SetDevice(std::move(pointers));
  found->second(*api, launch);
  Check(*api, api->stream_synchronize(nullptr), op.c_str());
  for (size_t i = 0; i < launch.Host().size(); ++i) {
    const HostBuffer& b = launch.Host()[i];
    if (b.elements > 0) Check(*api, api->memcpy_d2h(b.data, launch.Device(i), b.Bytes(), nullptr), "download");
  }
  Check(*api, api->stream_synchronize(nullptr), "download");
  return info.Env().Undefined();
}

}  // namespace

void ExportKernelOnHost(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaKernelOnHost", Napi::Function::New(env, Guarded<KernelOnHost>, "cudaKernelOnHost"));
}

}  // namespace tessera::cuda
