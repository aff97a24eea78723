// GroupNorm in two halves for patch-parallel decoding: each rank computes the statistics of its band,
// the ranks combine them into those of the whole image, and each rank normalises its band with them.
#include <cmath>

#include "kernels/group_stats.h"
#include "kernels/kernels.h"
#include "kernels/pipeline_kernels.h"
#include "util/thread_pool.h"

namespace tessera {
namespace {

struct GroupLayout {
  int64_t n, c, spatial, perGroup;
};

GroupLayout Layout(const Tensor& x, int64_t groups, const char* name) {
  RequireCpu(x, name);
  if (x.Dim() < 2) FailType(std::string(name) + ": x must be [N, C, ...], got " + x.Describe());
  const int64_t n = x.Size(0), c = x.Size(1);
  if (groups <= 0 || c % groups != 0) {
    FailType(std::string(name) + ": groups (" + std::to_string(groups) + ") must divide the channel count " +
             std::to_string(c));
  }
  const int64_t spatial = n == 0 || c == 0 ? 0 : x.Numel() / (n * c);
  return {n, c, spatial, c / groups};
}

const float* ChannelVector(const Tensor* t, int64_t c, const char* name, Tensor& holder) {
  if (t == nullptr) return nullptr;
  RequireCpu(*t, name);
  RequireShape(*t, {c}, name);
  holder = AsF32(*t);
  return holder.F32();
}

}  // namespace

Tensor GroupNormStats(const Tensor& xIn, int64_t groups) {
  const GroupLayout l = Layout(xIn, groups, "groupNormStats");
  const Tensor x = AsF32(xIn);
  Tensor out = Empty({l.n, groups, 2}, DType::F32);
  const float* xp = x.F32();
  float* op = out.F32();
  const int64_t count = l.perGroup * l.spatial;
  ParallelFor(l.n * groups, 1, [&](int64_t g0, int64_t g1) {
    for (int64_t ng = g0; ng < g1; ++ng) {
      const MeanM2 stats = MeanAndM2(xp + ng * count, count);
      op[2 * ng] = static_cast<float>(stats.mean);
      op[2 * ng + 1] = static_cast<float>(stats.m2);
    }
  });
  return out;
}

Tensor GroupNormApply(const Tensor& xIn, int64_t groups, const Tensor& meanIn, const Tensor& rstdIn,
                      const Tensor* weightIn, const Tensor* biasIn, const Tensor* outIn) {
  const GroupLayout l = Layout(xIn, groups, "groupNormApply");
  RequireCpu(meanIn, "groupNormApply mean");
  RequireCpu(rstdIn, "groupNormApply rstd");
  RequireShape(meanIn, {l.n, groups}, "groupNormApply mean");
  RequireShape(rstdIn, {l.n, groups}, "groupNormApply rstd");
  Tensor wHold, bHold;
  const float* w = ChannelVector(weightIn, l.c, "groupNormApply weight", wHold);
  const float* b = ChannelVector(biasIn, l.c, "groupNormApply bias", bHold);
  const Tensor mean = AsF32(meanIn), rstd = AsF32(rstdIn);
  Tensor out = PrepareOut(outIn, xIn.shape);
  const Tensor x = AsF32(xIn);
  const float* xp = x.F32();
  float* yp = out.F32();
  const float* mp = mean.F32();
  const float* rp = rstd.F32();
  ParallelFor(l.n * l.c, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t nc = c0; nc < c1; ++nc) {
      const int64_t channel = nc % l.c;
      const int64_t ng = (nc / l.c) * groups + channel / l.perGroup;
      const float m = mp[ng];
      const float scale = w != nullptr ? w[channel] * rp[ng] : rp[ng];
      const float shift = b != nullptr ? b[channel] : 0.0f;
      const float* s = xp + nc * l.spatial;
      float* o = yp + nc * l.spatial;
      for (int64_t i = 0; i < l.spatial; ++i) o[i] = (s[i] - m) * scale + shift;
    }
  });
  return out;
}

}  // namespace tessera
