#include "kernels/cuda_dispatch.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <numeric>
#include <string>

#include "cuda/device_memory.h"

namespace tessera::gpu {
namespace {

using cuda::Check;

const cuda::CudaApi& Api() { return cuda::RequireApi(); }

tessera_cuda_dtype CudaDType(DType t) {
  if (t == DType::F32) return TESSERA_CUDA_F32;
  if (t == DType::BF16) return TESSERA_CUDA_BF16;
  FailType("f16 tensors are not supported on 'cuda' (use f32 or bf16)");
}

void RequireGpu(const Tensor& t, const char* name) {
  if (!t.storage) FailType(std::string(name) + ": tensor has been released");
  if (!On(t)) FailType(std::string(name) + ": expected a 'cuda' tensor, got one on 'cpu' (move it with toDevice)");
}

Tensor Out(const Tensor* out, const Shape& shape, DType dtype) {
  if (out == nullptr) return Empty(shape, dtype, Device::Cuda);
  RequireGpu(*out, "out");
  if (out->dtype != dtype) FailType("out: must be " + std::string(DTypeName(dtype)) + ", got " + DTypeName(out->dtype));
  RequireShape(*out, shape, "out");
  if (!out->IsContiguous()) FailType("out: must be contiguous");
  return *out;
}

// Input `name` as a contiguous GPU tensor of the compute dtype.
Tensor In(const Tensor& t, DType dtype, const char* name) {
  RequireGpu(t, name);
  return Dense(t, dtype);
}

std::size_t U(int64_t v) { return static_cast<std::size_t>(v); }

// Whether t's elements form `rows` runs of `cols` contiguous elements, run i starting at i·rowStride: a
// narrow along any axis of a contiguous tensor (its trailing axes are the run, the leading ones step
// evenly). copy_2d moves such a layout in one launch.
bool AsStridedRows(const Tensor& t, int64_t* rows, int64_t* cols, int64_t* rowStride) {
  int64_t expected = 1, axis = t.Dim() - 1;
  for (; axis >= 0; --axis) {
    if (t.shape[U(axis)] != 1 && t.strides[U(axis)] != expected) break;
    expected *= t.shape[U(axis)];
  }
  *cols = expected;
  if (axis < 0) {  // contiguous after all
    *rows = 1;
    *rowStride = expected;
    return true;
  }
  if (t.strides[U(axis)] < expected) return false;
  int64_t count = 1;
  for (int64_t a = axis; a >= 0; --a) {
    if (a < axis && t.shape[U(a)] != 1 && t.strides[U(a)] != t.strides[U(a + 1)] * t.shape[U(a + 1)]) return false;
    count *= t.shape[U(a)];
  }
  *rows = count;
  *rowStride = t.strides[U(axis)];
  return true;
}

// Contiguous copy of a strided GPU view of the same dtype: a narrowed axis (strided rows) via copy_2d,
// or a permutation of a contiguous layout via permute.
Tensor DenseLayout(const Tensor& t) {
  const cuda::CudaApi& api = Api();
  Tensor out = Empty(t.shape, t.dtype, Device::Cuda);
  if (t.Numel() == 0) return out;
  const tessera_cuda_dtype dt = CudaDType(t.dtype);
  int64_t rows = 0, cols = 0, rowStride = 0;
  if (AsStridedRows(t, &rows, &cols, &rowStride)) {
    Check(api, api.copy_2d(t.Raw(), U(rowStride), out.Raw(), U(cols), U(rows), U(cols), dt, nullptr), "strided copy");
    return out;
  }
  // A permutation of a contiguous tensor: sort axes by stride to find the source layout.
  std::vector<int> order(U(t.Dim()));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return t.strides[U(a)] > t.strides[U(b)]; });
  Shape base(U(t.Dim()));
  for (std::size_t i = 0; i < order.size(); ++i) base[i] = t.shape[U(order[i])];
  Tensor probe = t;
  probe.shape = base;
  for (std::size_t i = 0; i < order.size(); ++i) probe.strides[i] = t.strides[U(order[i])];
  if (!probe.IsContiguous() || t.Dim() > TESSERA_CUDA_MAX_RANK) {
    FailType("contiguous(): this strided 'cuda' view " + t.Describe() +
             " is neither a permutation nor a narrow of a contiguous tensor; make it contiguous in two steps");
  }
  // dst axis i is base axis perm[i]: the base position of t's axis i.
  std::vector<int> perm(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) perm[U(order[i])] = static_cast<int>(i);
  Check(api, api.permute(t.Raw(), out.Raw(), static_cast<int>(base.size()), base.data(), perm.data(), dt, nullptr), "permute");
  return out;
}

// Vectors shared by the batch ([D] or [1, D]) or per sample ([B, D]); returns whether shared.
bool SharedVector(const Tensor& v, int64_t batch, int64_t d, const char* name) {
  if (v.Numel() == d && (v.Dim() == 1 || (v.Dim() == 2 && v.Size(0) == 1))) return true;
  if (v.Dim() == 2 && v.Size(0) == batch && v.Size(1) == d) return false;
  FailType(std::string(name) + ": expected [" + std::to_string(batch) + ", " + std::to_string(d) + "] or [" +
           std::to_string(d) + "], got " + v.Describe());
}

}  // namespace

Tensor Dense(const Tensor& t, DType dtype) {
  Tensor dense = t.IsContiguous() ? t : DenseLayout(t);
  if (dense.dtype == dtype) return dense;
  Tensor converted = Empty(dense.shape, dtype, Device::Cuda);
  const cuda::CudaApi& api = Api();
  Check(api, api.convert(dense.Raw(), CudaDType(dense.dtype), converted.Raw(), CudaDType(dtype), U(dense.Numel()), nullptr),
        "dtype conversion");
  return converted;
}

Tensor ToDevice(const Tensor& t, Device device) {
  if (t.GetDevice() == device) return t.IsContiguous() ? t : (device == Device::Cuda ? DenseLayout(t) : Contiguous(t));
  Tensor out = Empty(t.shape, t.dtype, device);
  gpu::CopyInto(t, out);
  return out;
}

void CopyInto(const Tensor& src, const Tensor& dst) {
  if (src.shape != dst.shape) FailType("copy: shapes differ: " + src.Describe() + " into " + dst.Describe());
  const std::size_t bytes = U(dst.Numel()) * DTypeSize(dst.dtype);
  if (bytes == 0) return;
  if (On(dst) && !dst.IsContiguous()) {
    // A strided destination on the GPU (a band of the latents, a region of a KV buffer): lay the source
    // out densely on the device in dst's dtype, then one strided 2-D copy into place.
    int64_t rows = 0, cols = 0, rowStride = 0;
    if (!AsStridedRows(dst, &rows, &cols, &rowStride)) {
      FailType("copy: the 'cuda' destination " + dst.Describe() + " is not a narrow of a contiguous tensor");
    }
    const Tensor dense = On(src) ? Dense(src, dst.dtype) : ToDevice(ToDType(src, dst.dtype), Device::Cuda);
    const cuda::CudaApi& api = Api();
    Check(api, api.copy_2d(dense.Raw(), U(cols), dst.Raw(), U(rowStride), U(rows), U(cols), CudaDType(dst.dtype), nullptr),
          "strided copy");
    return;
  }
  if (On(src) && On(dst)) {
    const Tensor dense = Dense(src, dst.dtype);
    const cuda::CudaApi& api = Api();
    Check(api, api.memcpy_d2d(dst.Raw(), dense.Raw(), bytes, nullptr), "device copy");
    return;
  }
  if (On(dst)) {  // host → device: convert and lay out on the host, then one transfer
    const Tensor host = ToDType(src, dst.dtype);
    cuda::CopyToDevice(dst.Raw(), host.Raw(), bytes);
    return;
  }
  const Tensor dense = Dense(src, src.dtype);  // device → host
  if (dense.dtype == dst.dtype && dst.IsContiguous()) {
    cuda::CopyToHost(dst.Raw(), dense.Raw(), bytes);
    return;
  }
  Tensor staging = Empty(dense.shape, dense.dtype);
  cuda::CopyToHost(staging.Raw(), dense.Raw(), U(dense.Numel()) * DTypeSize(dense.dtype));
  tessera::CopyInto(staging, dst);
}

namespace {
Tensor LinearWith(tessera_cuda_epilogue epilogue, const Tensor& xIn, const Tensor& wIn, const Tensor* biasIn,
                  const Tensor* outIn, const char* name) {
  const DType dt = xIn.dtype;
  if (wIn.Dim() != 2) FailType(std::string(name) + ": weight must be [out, in], got " + wIn.Describe());
  const int64_t n = wIn.Size(0), k = wIn.Size(1);
  if (xIn.Dim() < 1 || xIn.shape.back() != k) {
    FailType(std::string(name) + ": x " + xIn.Describe() + " does not match weight " + wIn.Describe());
  }
  Shape shape = xIn.shape;
  shape.back() = n;
  Tensor out = Out(outIn, shape, dt);
  const Tensor x = In(xIn, dt, "linear x"), w = In(wIn, dt, "linear weight");
  Tensor b;
  if (biasIn != nullptr) {
    RequireShape(*biasIn, {n}, "linear bias");
    b = In(*biasIn, dt, "linear bias");
  }
  const int64_t m = k == 0 ? 0 : x.Numel() / k;
  if (m == 0 || n == 0) return out;
  const cuda::CudaApi& api = Api();
  Check(api, api.linear(x.Raw(), w.Raw(), biasIn ? b.Raw() : nullptr, out.Raw(), U(m), U(n), U(k), epilogue, CudaDType(dt), nullptr),
        name);
  return out;
}
}  // namespace

Tensor Linear(const Tensor& x, const Tensor& w, const Tensor* bias, const Tensor* out) {
  return LinearWith(TESSERA_CUDA_EPILOGUE_NONE, x, w, bias, out, "linear");
}

Tensor LinearGelu(const Tensor& x, const Tensor& w, const Tensor* bias, const Tensor* out) {
  return LinearWith(TESSERA_CUDA_EPILOGUE_GELU_TANH, x, w, bias, out, "linearGelu");
}

Tensor Matmul(const Tensor& aIn, const Tensor& bIn, bool transposeB, const Tensor* outIn) {
  const DType dt = aIn.dtype;
  if (aIn.Dim() < 2 || bIn.Dim() < 2) FailType("matmul: a and b need at least 2 dimensions");
  const int64_t m = aIn.Size(aIn.Dim() - 2), k = aIn.Size(aIn.Dim() - 1);
  const int64_t bk = transposeB ? bIn.Size(bIn.Dim() - 1) : bIn.Size(bIn.Dim() - 2);
  const int64_t n = transposeB ? bIn.Size(bIn.Dim() - 2) : bIn.Size(bIn.Dim() - 1);
  if (bk != k) FailType("matmul: inner dimensions differ: a " + aIn.Describe() + ", b " + bIn.Describe());
  const bool sharedB = bIn.Dim() == 2;
  const Shape batchA(aIn.shape.begin(), aIn.shape.end() - 2);
  if (!sharedB && Shape(bIn.shape.begin(), bIn.shape.end() - 2) != batchA) {
    FailType("matmul: batch dimensions differ: a " + aIn.Describe() + ", b " + bIn.Describe());
  }
  Shape shape = batchA;
  shape.push_back(m);
  shape.push_back(n);
  Tensor out = Out(outIn, shape, dt);
  const Tensor a = In(aIn, dt, "matmul a"), b = In(bIn, dt, "matmul b");
  const cuda::CudaApi& api = Api();
  const std::size_t es = DTypeSize(dt);
  for (int64_t i = 0, batches = NumElements(batchA); i < batches; ++i) {
    const char* bp = static_cast<const char*>(b.Raw()) + (sharedB ? 0 : U(i * k * n) * es);
    Check(api, api.gemm(0, transposeB ? 1 : 0, U(m), U(n), U(k), 1.0f, static_cast<const char*>(a.Raw()) + U(i * m * k) * es,
                        bp, 0.0f, static_cast<char*>(out.Raw()) + U(i * m * n) * es, CudaDType(dt), nullptr),
          "matmul");
  }
  return out;
}

Tensor LayerNorm(const Tensor& xIn, const Tensor* wIn, const Tensor* bIn, float eps, const Tensor* outIn) {
  const DType dt = xIn.dtype;
  const int64_t d = xIn.shape.back();
  Tensor out = Out(outIn, xIn.shape, dt);
  const Tensor x = In(xIn, dt, "layerNorm x");
  Tensor w, b;
  if (wIn != nullptr) { RequireShape(*wIn, {d}, "layerNorm weight"); w = In(*wIn, dt, "layerNorm weight"); }
  if (bIn != nullptr) { RequireShape(*bIn, {d}, "layerNorm bias"); b = In(*bIn, dt, "layerNorm bias"); }
  const cuda::CudaApi& api = Api();
  Check(api, api.layer_norm(x.Raw(), wIn ? w.Raw() : nullptr, bIn ? b.Raw() : nullptr, out.Raw(), U(d ? x.Numel() / d : 0), U(d),
                            eps, CudaDType(dt), nullptr), "layerNorm");
  return out;
}

Tensor RmsNorm(const Tensor& xIn, const Tensor* wIn, float eps, const Tensor* outIn) {
  const DType dt = xIn.dtype;
  const int64_t d = xIn.shape.back();
  Tensor out = Out(outIn, xIn.shape, dt);
  const Tensor x = In(xIn, dt, "rmsNorm x");
  Tensor w;
  if (wIn != nullptr) { RequireShape(*wIn, {d}, "rmsNorm weight"); w = In(*wIn, dt, "rmsNorm weight"); }
  const cuda::CudaApi& api = Api();
  Check(api, api.rms_norm(x.Raw(), wIn ? w.Raw() : nullptr, out.Raw(), U(d ? x.Numel() / d : 0), U(d), eps, CudaDType(dt), nullptr),
        "rmsNorm");
  return out;
}

Tensor GroupNorm(const Tensor& xIn, int64_t groups, const Tensor* wIn, const Tensor* bIn, float eps, const Tensor* outIn) {
  const DType dt = xIn.dtype;
  if (xIn.Dim() < 2) FailType("groupNorm: x must be [N, C, ...], got " + xIn.Describe());
  const int64_t n = xIn.Size(0), c = xIn.Size(1);
  if (groups <= 0 || c % groups != 0) FailType("groupNorm: groups (" + std::to_string(groups) + ") must divide the channel count " + std::to_string(c));
  Tensor out = Out(outIn, xIn.shape, dt);
  const Tensor x = In(xIn, dt, "groupNorm x");
  Tensor w, b;
  if (wIn != nullptr) { RequireShape(*wIn, {c}, "groupNorm weight"); w = In(*wIn, dt, "groupNorm weight"); }
  if (bIn != nullptr) { RequireShape(*bIn, {c}, "groupNorm bias"); b = In(*bIn, dt, "groupNorm bias"); }
  const int64_t spatial = n * c == 0 ? 0 : x.Numel() / (n * c);
  const cuda::CudaApi& api = Api();
  Check(api, api.group_norm(x.Raw(), wIn ? w.Raw() : nullptr, bIn ? b.Raw() : nullptr, out.Raw(), U(n), U(c), U(spatial), U(groups),
                            eps, CudaDType(dt), nullptr), "groupNorm");
  return out;
}

namespace {
Tensor Unary(tessera_cuda_unary_op op, const Tensor& xIn, const Tensor* outIn, const char* name) {
  Tensor out = Out(outIn, xIn.shape, xIn.dtype);
  const Tensor x = In(xIn, xIn.dtype, name);
  const cuda::CudaApi& api = Api();
  Check(api, api.unary(op, x.Raw(), out.Raw(), U(x.Numel()), CudaDType(x.dtype), nullptr), name);
  return out;
}
}  // namespace

Tensor GeluTanh(const Tensor& x, const Tensor* out) { return Unary(TESSERA_CUDA_GELU_TANH, x, out, "gelu"); }
Tensor Silu(const Tensor& x, const Tensor* out) { return Unary(TESSERA_CUDA_SILU, x, out, "silu"); }

Tensor Softmax(const Tensor& xIn, const Tensor* outIn) {
  Tensor out = Out(outIn, xIn.shape, xIn.dtype);
  const Tensor x = In(xIn, xIn.dtype, "softmax x");
  const int64_t d = x.shape.back();
  const cuda::CudaApi& api = Api();
  Check(api, api.softmax(x.Raw(), out.Raw(), U(d ? x.Numel() / d : 0), U(d), CudaDType(x.dtype), nullptr), "softmax");
  return out;
}

namespace {
std::mutex attentionMutex;
std::string attentionFallback;  // why the last call did not use cuDNN ("" when it did)

bool AttentionForcedNative() {
  const char* choice = std::getenv("TESSERA_ATTENTION");
  return choice != nullptr && std::string(choice) == "native";
}

void NoteAttentionPath(const std::string& reason) {
  std::lock_guard<std::mutex> lock(attentionMutex);
  attentionFallback = reason;
}
}  // namespace

std::string AttentionFallbackReason() {
  std::lock_guard<std::mutex> lock(attentionMutex);
  return attentionFallback;
}

Tensor Attention(const Tensor& qIn, const Tensor& kIn, const Tensor& vIn, float scale, const Tensor* outIn, const Tensor* lseIn) {
  const DType dt = qIn.dtype;
  if (qIn.Dim() != 4 || kIn.Dim() != 4 || kIn.shape != vIn.shape || kIn.Size(0) != qIn.Size(0) || kIn.Size(2) != qIn.Size(2) ||
      kIn.Size(3) != qIn.Size(3)) {
    FailType("attention: q " + qIn.Describe() + ", k " + kIn.Describe() + ", v " + vIn.Describe() + " are not [B, S, H, D] alike");
  }
  const int64_t b = qIn.Size(0), sq = qIn.Size(1), h = qIn.Size(2), d = qIn.Size(3), sk = kIn.Size(1);
  Tensor out = Out(outIn, qIn.shape, dt);
  Tensor lse;
  if (lseIn != nullptr) lse = Out(lseIn, {b, h, sq}, DType::F32);
  const Tensor q = In(qIn, dt, "attention q"), k = In(kIn, dt, "attention k"), v = In(vIn, dt, "attention v");
  const cuda::CudaApi& api = Api();
  float* lsePtr = lseIn ? lse.F32() : nullptr;
  if (AttentionForcedNative()) {
    NoteAttentionPath("TESSERA_ATTENTION=native");
  } else {
    const tessera_cuda_status status = api.attention_cudnn(q.Raw(), k.Raw(), v.Raw(), out.Raw(), lsePtr, U(b), U(sq), U(sk), U(h),
                                                           U(d), scale, CudaDType(dt), nullptr);
    if (status == TESSERA_CUDA_OK) {
      NoteAttentionPath("");
      return out;
    }
    if (status != TESSERA_CUDA_UNSUPPORTED) Check(api, status, "attention (cuDNN)");
    NoteAttentionPath(api.last_error());
  }
  Check(api, api.attention(q.Raw(), k.Raw(), v.Raw(), out.Raw(), lsePtr, U(b), U(sq), U(sk), U(h), U(d), scale, CudaDType(dt), nullptr),
        "attention");
  return out;
}

Tensor Rope(const Tensor& xIn, const Tensor& cosIn, const Tensor& sinIn, const Tensor* outIn) {
  if (xIn.Dim() != 4) FailType("rope: x must be [B, S, H, D], got " + xIn.Describe());
  const int64_t b = xIn.Size(0), s = xIn.Size(1), h = xIn.Size(2), d = xIn.Size(3);
  if (d % 2 != 0) FailType("rope: head size " + std::to_string(d) + " must be even");
  RequireShape(cosIn, {s, d}, "rope cos");
  RequireShape(sinIn, {s, d}, "rope sin");
  Tensor out = Out(outIn, xIn.shape, xIn.dtype);
  const Tensor x = In(xIn, xIn.dtype, "rope x"), c = In(cosIn, DType::F32, "rope cos"), sn = In(sinIn, DType::F32, "rope sin");
  const cuda::CudaApi& api = Api();
  Check(api, api.rope(x.Raw(), c.F32(), sn.F32(), out.Raw(), U(b), U(s), U(h), U(d), CudaDType(x.dtype), nullptr), "rope");
  return out;
}

Tensor Modulate(const Tensor& xIn, const Tensor& shiftIn, const Tensor& scaleIn, const Tensor* outIn) {
  if (xIn.Dim() < 2) FailType("modulate x: must be [B, ..., D], got " + xIn.Describe());
  const DType dt = xIn.dtype;
  const int64_t batch = xIn.Size(0), d = xIn.shape.back(), tokens = batch * d == 0 ? 0 : xIn.Numel() / (batch * d);
  const bool shared = SharedVector(shiftIn, batch, d, "modulate shift");
  if (SharedVector(scaleIn, batch, d, "modulate scale") != shared) FailType("modulate: shift and scale must both be shared or both per sample");
  Tensor out = Out(outIn, xIn.shape, dt);
  const Tensor x = In(xIn, dt, "modulate x"), sh = In(shiftIn, dt, "modulate shift"), sc = In(scaleIn, dt, "modulate scale");
  const cuda::CudaApi& api = Api();
  Check(api, api.modulate(x.Raw(), sc.Raw(), sh.Raw(), out.Raw(), U(shared ? 1 : batch), U(shared ? batch * tokens : tokens), U(d),
                          CudaDType(dt), nullptr), "modulate");
  return out;
}

Tensor GatedResidual(const Tensor& xIn, const Tensor& gateIn, const Tensor& yIn, const Tensor* outIn) {
  if (xIn.Dim() < 2) FailType("gatedResidual x: must be [B, ..., D], got " + xIn.Describe());
  RequireShape(yIn, xIn.shape, "gatedResidual y");
  const DType dt = xIn.dtype;
  const int64_t batch = xIn.Size(0), d = xIn.shape.back(), tokens = batch * d == 0 ? 0 : xIn.Numel() / (batch * d);
  const bool shared = SharedVector(gateIn, batch, d, "gatedResidual gate");
  Tensor out = Out(outIn, xIn.shape, dt);
  const Tensor x = In(xIn, dt, "gatedResidual x"), g = In(gateIn, dt, "gatedResidual gate"), y = In(yIn, dt, "gatedResidual y");
  const cuda::CudaApi& api = Api();
  Check(api, api.gated_residual(x.Raw(), g.Raw(), y.Raw(), out.Raw(), U(shared ? 1 : batch), U(shared ? batch * tokens : tokens), U(d),
                                CudaDType(dt), nullptr), "gatedResidual");
  return out;
}

Tensor Binary(BinaryOp op, const Tensor& aIn, const Tensor& bIn, const Tensor* outIn) {
  // The GPU kernel broadcasts b over a's leading axes only: b's shape must be a suffix of a's.
  const bool suffix = bIn.Dim() <= aIn.Dim() && std::equal(bIn.shape.begin(), bIn.shape.end(), aIn.shape.end() - bIn.Dim());
  if (!suffix) FailType("on 'cuda', b " + bIn.Describe() + " must have a's shape " + ShapeString(aIn.shape) + " or a suffix of it");
  Tensor out = Out(outIn, aIn.shape, aIn.dtype);
  const Tensor a = In(aIn, aIn.dtype, "a"), b = In(bIn, aIn.dtype, "b");
  if (a.Numel() == 0) return out;
  static const tessera_cuda_binary_op kOps[] = {TESSERA_CUDA_ADD, TESSERA_CUDA_SUB, TESSERA_CUDA_MUL, TESSERA_CUDA_DIV};
  const cuda::CudaApi& api = Api();
  Check(api, api.binary(kOps[static_cast<int>(op)], a.Raw(), U(a.Numel()), b.Raw(), U(b.Numel()), out.Raw(), CudaDType(a.dtype), nullptr),
        "element-wise op");
  return out;
}

Tensor Affine(const Tensor& xIn, float mul, float add, const Tensor* outIn) {
  Tensor out = Out(outIn, xIn.shape, xIn.dtype);
  const Tensor x = In(xIn, xIn.dtype, "affine x");
  const cuda::CudaApi& api = Api();
  Check(api, api.affine(x.Raw(), out.Raw(), U(x.Numel()), mul, add, CudaDType(x.dtype), nullptr), "affine");
  return out;
}

Tensor Concat(const std::vector<Tensor>& parts, int64_t axisIn) {
  const Tensor& first = parts.front();
  const int64_t axis = NormalizeAxis(axisIn, first.Dim(), "concat");
  Shape shape = first.shape;
  shape[U(axis)] = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string name = "concat part " + std::to_string(i);
    RequireGpu(parts[i], name.c_str());
    if (parts[i].dtype != first.dtype || parts[i].Dim() != first.Dim()) FailType(name + ": dtype or rank differs from part 0");
    for (int64_t a = 0; a < first.Dim(); ++a) {
      if (a != axis && parts[i].Size(a) != first.Size(a)) FailType(name + ": " + parts[i].Describe() + " differs outside axis " + std::to_string(axis));
    }
    shape[U(axis)] += parts[i].Size(axis);
  }
  Tensor out = Empty(shape, first.dtype, Device::Cuda);
  int64_t outer = 1, inner = 1;
  for (int64_t a = 0; a < axis; ++a) outer *= shape[U(a)];
  for (int64_t a = axis + 1; a < out.Dim(); ++a) inner *= shape[U(a)];
  const int64_t outRun = shape[U(axis)] * inner;
  const cuda::CudaApi& api = Api();
  int64_t column = 0;
  for (const Tensor& p : parts) {
    const Tensor dense = Dense(p, p.dtype);
    const int64_t run = p.Size(axis) * inner;
    if (run > 0 && outer > 0) {
      Check(api, api.copy_2d(dense.Raw(), U(run), static_cast<char*>(out.Raw()) + U(column) * DTypeSize(out.dtype), U(outRun), U(outer),
                             U(run), CudaDType(out.dtype), nullptr), "concat");
    }
    column += run;
  }
  return out;
}

Tensor Conv2d(const Tensor& xIn, const Tensor& wIn, const Tensor* biasIn, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
              const Tensor* outIn) {
  if (xIn.Dim() != 4 || wIn.Dim() != 4 || wIn.Size(1) != xIn.Size(1)) {
    FailType("conv2d: x " + xIn.Describe() + " and weight " + wIn.Describe() + " are not [N, C, H, W] and [O, C, kh, kw]");
  }
  if (sh < 1 || sw < 1 || ph < 0 || pw < 0) FailType("conv2d: stride must be ≥ 1 and padding ≥ 0");
  const DType dt = xIn.dtype;
  const int64_t n = xIn.Size(0), c = xIn.Size(1), h = xIn.Size(2), w = xIn.Size(3), o = wIn.Size(0), kh = wIn.Size(2), kw = wIn.Size(3);
  if (h + 2 * ph < kh || w + 2 * pw < kw) FailType("conv2d: kernel does not fit input " + xIn.Describe());
  const int64_t ho = (h + 2 * ph - kh) / sh + 1, wo = (w + 2 * pw - kw) / sw + 1;
  Tensor out = Out(outIn, {n, o, ho, wo}, dt);
  const Tensor x = In(xIn, dt, "conv2d x"), wt = In(wIn, dt, "conv2d weight");
  Tensor bias;
  if (biasIn != nullptr) { RequireShape(*biasIn, {o}, "conv2d bias"); bias = In(*biasIn, dt, "conv2d bias"); }
  const cuda::CudaApi& api = Api();
  Check(api, api.conv2d(x.Raw(), wt.Raw(), biasIn ? bias.Raw() : nullptr, out.Raw(), U(n), U(c), U(h), U(w), U(o), U(kh), U(kw), U(sh),
                        U(sw), U(ph), U(pw), CudaDType(dt), nullptr), "conv2d");
  return out;
}

Tensor UpsampleNearest(const Tensor& xIn, int64_t fh, int64_t fw, const Tensor* outIn) {
  if (xIn.Dim() != 4) FailType("upsampleNearest: x must be [N, C, H, W], got " + xIn.Describe());
  if (fh < 1 || fw < 1) FailType("upsampleNearest: factors must be ≥ 1");
  Tensor out = Out(outIn, {xIn.Size(0), xIn.Size(1), xIn.Size(2) * fh, xIn.Size(3) * fw}, xIn.dtype);
  const Tensor x = In(xIn, xIn.dtype, "upsampleNearest x");
  const cuda::CudaApi& api = Api();
  Check(api, api.upsample_nearest(x.Raw(), out.Raw(), U(x.Size(0)), U(x.Size(1)), U(x.Size(2)), U(x.Size(3)), U(fh), U(fw),
                                  CudaDType(x.dtype), nullptr), "upsampleNearest");
  return out;
}

Tensor ScaledAdd(const Tensor& xIn, const Tensor& yIn, float alpha, const Tensor* outIn) {
  if (yIn.shape != xIn.shape) FailType("scaledAdd: shapes differ: " + xIn.Describe() + " and " + yIn.Describe());
  Tensor out = Out(outIn, xIn.shape, xIn.dtype);
  const Tensor x = In(xIn, xIn.dtype, "scaledAdd x");
  // y keeps its own dtype: a bf16 velocity updates f32 latents without a conversion pass.
  const Tensor y = In(yIn, yIn.dtype == DType::F16 ? xIn.dtype : yIn.dtype, "scaledAdd y");
  const cuda::CudaApi& api = Api();
  Check(api, api.scaled_add(x.Raw(), CudaDType(x.dtype), y.Raw(), CudaDType(y.dtype), alpha, out.Raw(), U(x.Numel()), nullptr),
        "scaledAdd");
  return out;
}

Tensor GuidanceCombine(const Tensor& uIn, const Tensor& cIn, float scale, const Tensor* outIn) {
  if (cIn.shape != uIn.shape) FailType("guidanceCombine: shapes differ: " + uIn.Describe() + " and " + cIn.Describe());
  Tensor out = Out(outIn, uIn.shape, uIn.dtype);
  const Tensor u = In(uIn, uIn.dtype, "guidanceCombine uncond"), c = In(cIn, uIn.dtype, "guidanceCombine cond");
  const cuda::CudaApi& api = Api();
  Check(api, api.guidance_combine(u.Raw(), c.Raw(), scale, out.Raw(), U(u.Numel()), CudaDType(u.dtype), nullptr), "guidanceCombine");
  return out;
}

void LseMerge(const Tensor& acc, const Tensor& accLse, const Tensor& blockOut, const Tensor& blockLse) {
  RequireGpu(acc, "lseMerge out");
  RequireGpu(accLse, "lseMerge lse");
  if (!acc.IsContiguous() || !accLse.IsContiguous()) FailType("lseMerge: out and lse must be contiguous");
  if (accLse.dtype != DType::F32) FailType("lseMerge: lse must be f32");
  const Tensor ob = In(blockOut, blockOut.dtype == DType::F16 ? acc.dtype : blockOut.dtype, "lseMerge block out");
  const Tensor lb = In(blockLse, DType::F32, "lseMerge block lse");
  const cuda::CudaApi& api = Api();
  Check(api, api.lse_merge(acc.Raw(), accLse.F32(), CudaDType(acc.dtype), ob.Raw(), lb.F32(), CudaDType(ob.dtype), U(acc.Size(0)),
                           U(acc.Size(1)), U(acc.Size(2)), U(acc.Size(3)), nullptr),
        "lseMerge");
}

Tensor TimestepSinusoid(const std::vector<float>& timesteps, int64_t channels, bool flip, float shift, float maxPeriod, DType dtype) {
  Tensor out = Empty({static_cast<int64_t>(timesteps.size()), channels}, dtype, Device::Cuda);
  if (timesteps.empty()) return out;
  const cuda::CudaApi& api = Api();
  Check(api, api.timestep_sinusoid(timesteps.data(), timesteps.size(), U(channels), flip ? 1 : 0, shift, maxPeriod, out.Raw(),
                                   CudaDType(dtype), nullptr),
        "timestepSinusoid");
  return out;
}

Tensor LayerNormModulate(const Tensor& xIn, const Tensor& shiftIn, const Tensor& scaleIn, float eps, const Tensor* outIn) {
  if (xIn.Dim() < 2) FailType("layerNormModulate x: must be [B, ..., D], got " + xIn.Describe());
  const DType dt = xIn.dtype;
  const int64_t batch = xIn.Size(0), d = xIn.shape.back(), tokens = batch * d == 0 ? 0 : xIn.Numel() / (batch * d);
  const bool shared = SharedVector(shiftIn, batch, d, "layerNormModulate shift");
  if (SharedVector(scaleIn, batch, d, "layerNormModulate scale") != shared) {
    FailType("layerNormModulate: shift and scale must both be shared or both per sample");
  }
  Tensor out = Out(outIn, xIn.shape, dt);
  const Tensor x = In(xIn, dt, "layerNormModulate x"), sh = In(shiftIn, dt, "layerNormModulate shift"),
               sc = In(scaleIn, dt, "layerNormModulate scale");
  const cuda::CudaApi& api = Api();
  Check(api, api.layer_norm_modulate(x.Raw(), sc.Raw(), sh.Raw(), out.Raw(), U(shared ? 1 : batch), U(shared ? batch * tokens : tokens),
                                     U(d), eps, CudaDType(dt), nullptr),
        "layerNormModulate");
  return out;
}

Tensor RmsNormRope(const Tensor& xIn, const Tensor* wIn, const Tensor* cosIn, const Tensor* sinIn, float eps, const Tensor* outIn,
                   int64_t outOffset) {
  const DType dt = xIn.dtype;
  const int64_t b = xIn.Size(0), s = xIn.Size(1), h = xIn.Size(2), d = xIn.Size(3);
  Tensor out;
  if (outIn == nullptr) {
    out = Empty(xIn.shape, dt, Device::Cuda);
  } else {
    RequireGpu(*outIn, "out");
    if (outIn->dtype != dt) FailType("out: must be " + std::string(DTypeName(dt)) + ", got " + DTypeName(outIn->dtype));
    if (!outIn->IsContiguous()) FailType("out: must be contiguous");
    out = *outIn;
  }
  const Tensor x = In(xIn, dt, "rmsNormRope x");
  Tensor w, c, sn;
  if (wIn != nullptr) {
    RequireShape(*wIn, {d}, "rmsNormRope weight");
    w = In(*wIn, dt, "rmsNormRope weight");
  }
  if (cosIn != nullptr) {
    c = In(*cosIn, DType::F32, "rmsNormRope cos");
    sn = In(*sinIn, DType::F32, "rmsNormRope sin");
  }
  if (out.storage == xIn.storage && (outOffset != 0 || out.Size(1) != s)) {
    FailType("rmsNormRope: out may be x itself only when it is written whole (offset 0, same tokens)");
  }
  const cuda::CudaApi& api = Api();
  Check(api, api.rms_norm_rope(x.Raw(), wIn ? w.Raw() : nullptr, cosIn ? c.F32() : nullptr, sinIn ? sn.F32() : nullptr, out.Raw(),
                               U(b), U(s), U(h), U(d), eps, U(out.Size(1)), U(outOffset), CudaDType(dt), nullptr),
        "rmsNormRope");
  return out;
}

}  // namespace tessera::gpu
