/**
 * The AutoencoderKL decoder (Diffusers' `Decoder`): conv_in → mid block (resnet, single-head attention
 * over all pixels, resnet) → up blocks (layers_per_block + 1 resnets, then nearest 2× upsampling and a
 * conv, except the last) → GroupNorm, SiLU, conv_out. Resnets: GroupNorm → SiLU → conv, twice, plus the
 * input (through a 1×1 conv when the width changes). GroupNorms have eps 1e-6. Everything that needs
 * neighbouring rows or the whole image goes through SpatialOps, so the same code decodes a row band.
 */
import { Linear } from '../../models/common/linear.js';
import { scoped, type WeightLookup } from '../../models/common/weights.js';
import { ops, type Tensor } from '../../native/index.js';
import type { SpatialOps } from './spatial-ops.js';
import { upBlockChannels, type VaeConfig } from './vae-config.js';

const EPS = 1e-6;

interface Affine {
  weight: Tensor;
  bias: Tensor;
}
const affine = (w: WeightLookup, name: string): Affine => ({
  weight: w.get(`${name}.weight`),
  bias: w.get(`${name}.bias`),
});

class Resnet {
  private readonly norm1: Affine;
  private readonly conv1: Affine;
  private readonly norm2: Affine;
  private readonly conv2: Affine;
  private readonly shortcut: Affine | null;

  constructor(
    w: WeightLookup,
    private readonly groups: number,
  ) {
    this.norm1 = affine(w, 'norm1');
    this.conv1 = affine(w, 'conv1');
    this.norm2 = affine(w, 'norm2');
    this.conv2 = affine(w, 'conv2');
    this.shortcut = w.has('conv_shortcut.weight') ? affine(w, 'conv_shortcut') : null;
  }

  async forward(x: Tensor, spatial: SpatialOps): Promise<Tensor> {
    const a = await spatial.groupNorm(x, this.groups, this.norm1, EPS);
    ops.silu(a, a);
    const b = await spatial.conv3x3(a, this.conv1.weight, this.conv1.bias);
    a.release();
    const c = await spatial.groupNorm(b, this.groups, this.norm2, EPS);
    b.release();
    ops.silu(c, c);
    const d = await spatial.conv3x3(c, this.conv2.weight, this.conv2.bias);
    c.release();
    const skip = this.shortcut ? ops.conv2d(x, this.shortcut.weight, { bias: this.shortcut.bias }) : x;
    ops.add(d, skip, d);
    if (skip !== x) skip.release();
    return d;
  }
}

/** The mid block's self-attention: one head of width C over every pixel, with a residual. */
class PixelAttention {
  private readonly norm: Affine;
  private readonly q: Linear;
  private readonly k: Linear;
  private readonly v: Linear;
  private readonly out: Linear;

  constructor(
    w: WeightLookup,
    private readonly groups: number,
  ) {
    this.norm = affine(w, 'group_norm');
    this.q = Linear.load(w, 'to_q');
    this.k = Linear.load(w, 'to_k');
    this.v = Linear.load(w, 'to_v');
    this.out = Linear.load(w, 'to_out.0');
  }

  async forward(x: Tensor, spatial: SpatialOps): Promise<Tensor> {
    const [n, c, h, width] = x.shape as [number, number, number, number];
    const normed = await spatial.groupNorm(x, this.groups, this.norm, EPS);
    const tokens = ops.permute(normed.reshape([n, c, h * width]), [0, 2, 1]);
    normed.release();
    const project = async (linear: Linear, all: boolean): Promise<Tensor> => {
      const local = linear.apply(tokens);
      if (!all) return local;
      const gathered = await spatial.allTokens(local);
      if (gathered !== local) local.release();
      return gathered;
    };
    const q = await project(this.q, false);
    const k = await project(this.k, true);
    const v = await project(this.v, true);
    tokens.release();
    const heads = (t: Tensor) => t.reshape([n, t.size(1), 1, c]);
    const attended = ops.attention(heads(q), heads(k), heads(v), { scale: 1 / Math.sqrt(c) });
    const projected = this.out.apply(attended.reshape([n, h * width, c]));
    for (const t of [q, k, v, attended]) t.release();
    const back = ops.permute(projected, [0, 2, 1]).reshape([n, c, h, width]);
    projected.release();
    ops.add(back, x, back);
    return back;
  }
}

interface UpBlock {
  resnets: Resnet[];
  upsample: Affine | null;
}

export class VaeDecoder {
  private readonly postQuant: Affine | null;
  private readonly convIn: Affine;
  private readonly mid: [Resnet, PixelAttention | null, Resnet];
  private readonly up: UpBlock[];
  private readonly normOut: Affine;
  private readonly convOut: Affine;

  constructor(
    readonly config: VaeConfig,
    weights: WeightLookup,
  ) {
    const g = config.normGroups;
    this.postQuant = config.usePostQuantConv ? affine(weights, 'post_quant_conv') : null;
    const d = scoped(weights, 'decoder.');
    this.convIn = affine(d, 'conv_in');
    this.mid = [
      new Resnet(scoped(d, 'mid_block.resnets.0.'), g),
      config.midBlockAttention ? new PixelAttention(scoped(d, 'mid_block.attentions.0.'), g) : null,
      new Resnet(scoped(d, 'mid_block.resnets.1.'), g),
    ];
    const blocks = upBlockChannels(config);
    this.up = blocks.map((_, i) => {
      const b = scoped(d, `up_blocks.${i}.`);
      return {
        resnets: Array.from(
          { length: config.layersPerBlock + 1 },
          (_, j) => new Resnet(scoped(b, `resnets.${j}.`), g),
        ),
        upsample: i < blocks.length - 1 ? affine(b, 'upsamplers.0.conv') : null,
      };
    });
    this.normOut = affine(d, 'conv_norm_out');
    this.convOut = affine(d, 'conv_out');
  }

  /** `AutoencoderKL.decode(z).sample` for z [N, latent_channels, h, w] (or this process's rows of it). */
  async decode(z: Tensor, spatial: SpatialOps): Promise<Tensor> {
    let x = this.postQuant ? ops.conv2d(z, this.postQuant.weight, { bias: this.postQuant.bias }) : z;
    const step = async (next: Promise<Tensor>): Promise<void> => {
      const y = await next;
      if (x !== z) x.release();
      x = y;
    };
    await step(spatial.conv3x3(x, this.convIn.weight, this.convIn.bias));
    const [first, attention, second] = this.mid;
    await step(first.forward(x, spatial));
    if (attention) await step(attention.forward(x, spatial));
    await step(second.forward(x, spatial));
    for (const block of this.up) {
      for (const resnet of block.resnets) await step(resnet.forward(x, spatial));
      if (block.upsample) {
        const up = block.upsample;
        const doubled = ops.upsampleNearest(x, 2);
        await step(spatial.conv3x3(doubled, up.weight, up.bias));
        doubled.release();
      }
    }
    await step(spatial.groupNorm(x, this.config.normGroups, this.normOut, EPS));
    ops.silu(x, x);
    await step(spatial.conv3x3(x, this.convOut.weight, this.convOut.bias));
    return x;
  }
}
