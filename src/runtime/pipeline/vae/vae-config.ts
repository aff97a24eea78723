/**
 * AutoencoderKL as FLUX (16 latent channels, shift factor), SD3 (the same with its factors) and PixArt-Σ
 * (the 4-channel SD VAE with quant convs) use it: vae/config.json with Diffusers' defaults, and the
 * decoder tensors it implies. Tessera only decodes, so the encoder's tensors are neither checked nor read.
 */
import type { BlockCount } from '../../checkpoint/block-counts.js';
import { CheckpointConfigError } from '../../checkpoint/config-fields.js';
import {
  type Dim,
  dim,
  GroupBuilder,
  type ModelManifest,
  type TensorGroup,
} from '../../checkpoint/manifest.js';
import type { ComponentConfig } from '../components/component-weights.js';

export interface VaeConfig {
  className: 'AutoencoderKL';
  latentChannels: number;
  outChannels: number;
  blockOutChannels: number[];
  layersPerBlock: number;
  normGroups: number;
  scalingFactor: number;
  /** null for VAEs without one (SD/SDXL: PixArt). */
  shiftFactor: number | null;
  usePostQuantConv: boolean;
  midBlockAttention: boolean;
}

/** Pixels per latent pixel: 2^(blocks − 1) (8 for the released VAEs). */
export function vaeScaleFactor(c: VaeConfig): number {
  return 2 ** (c.blockOutChannels.length - 1);
}

export function parseVaeConfig({ fields, raw, configFile }: ComponentConfig): VaeConfig {
  if (raw._class_name !== 'AutoencoderKL') {
    throw new CheckpointConfigError(
      `${configFile}: "_class_name" is ${JSON.stringify(raw._class_name)}; supported: AutoencoderKL`,
    );
  }
  const blocks = fields.integers('block_out_channels', [64]);
  const groups = fields.count('norm_num_groups', 32);
  fields.require(
    blocks.length > 0 && blocks.every((c) => c > 0 && c % groups === 0),
    `block_out_channels ${JSON.stringify(blocks)} must be non-empty multiples of norm_num_groups ${groups}`,
  );
  const upTypes = raw.up_block_types;
  if (
    upTypes !== undefined &&
    (!Array.isArray(upTypes) ||
      upTypes.length !== blocks.length ||
      upTypes.some((t) => t !== 'UpDecoderBlock2D'))
  ) {
    throw new CheckpointConfigError(
      `${configFile}: field "up_block_types" must list "UpDecoderBlock2D" once per block_out_channels entry`,
    );
  }
  const act = fields.optionalString('act_fn', 'silu');
  if (act !== 'silu')
    throw new CheckpointConfigError(
      `${configFile}: field "act_fn" is ${JSON.stringify(act)}; expected "silu"`,
    );
  const shift = raw.shift_factor;
  if (shift !== undefined && shift !== null && (typeof shift !== 'number' || !Number.isFinite(shift))) {
    throw new CheckpointConfigError(`${configFile}: field "shift_factor" must be a number or null`);
  }
  return {
    className: 'AutoencoderKL',
    latentChannels: fields.count('latent_channels', 4),
    outChannels: fields.count('out_channels', 3),
    blockOutChannels: blocks,
    layersPerBlock: fields.count('layers_per_block', 1),
    normGroups: groups,
    scalingFactor: fields.number('scaling_factor', 0.18215),
    shiftFactor: typeof shift === 'number' ? shift : null,
    usePostQuantConv: fields.bool('use_post_quant_conv', true),
    midBlockAttention: fields.bool('mid_block_add_attention', true),
  };
}

/** Decoder up blocks run the channels in reverse: up_blocks.i outputs block_out_channels[n−1−i]. */
export function upBlockChannels(c: VaeConfig): { input: number; output: number }[] {
  const reversed = [...c.blockOutChannels].reverse();
  return reversed.map((output, i) => ({ input: i === 0 ? output : (reversed[i - 1] as number), output }));
}

export function vaeManifest(c: VaeConfig): ModelManifest {
  const top = c.blockOutChannels.at(-1) as number;
  const ch = (n: number, from: string): Dim => dim(n, from);
  const groups: TensorGroup[] = [];
  const conv = (b: GroupBuilder, name: string, out: Dim, input: Dim, k: number) =>
    b
      .tensor(`${name}.weight`, [out, input, dim(k, 'kernel size'), dim(k, 'kernel size')])
      .tensor(`${name}.bias`, [out]);
  const norm = (b: GroupBuilder, name: string, channels: Dim) =>
    b.tensor(`${name}.weight`, [channels]).tensor(`${name}.bias`, [channels]);
  const resnet = (b: GroupBuilder, name: string, input: Dim, output: Dim) => {
    norm(b, `${name}.norm1`, input);
    conv(b, `${name}.conv1`, output, input, 3);
    norm(b, `${name}.norm2`, output);
    conv(b, `${name}.conv2`, output, output, 3);
    if (input.size !== output.size) conv(b, `${name}.conv_shortcut`, output, input, 1);
  };
  const latent = ch(c.latentChannels, 'latent_channels');
  const topDim = ch(top, 'block_out_channels[-1]');
  const embed = new GroupBuilder('');
  if (c.usePostQuantConv) conv(embed, 'post_quant_conv', latent, latent, 1);
  conv(embed, 'decoder.conv_in', topDim, latent, 3);
  resnet(embed, 'decoder.mid_block.resnets.0', topDim, topDim);
  if (c.midBlockAttention) {
    const attn = 'decoder.mid_block.attentions.0';
    norm(embed, `${attn}.group_norm`, topDim);
    for (const p of ['to_q', 'to_k', 'to_v', 'to_out.0']) embed.linear(`${attn}.${p}`, topDim, topDim);
  }
  resnet(embed, 'decoder.mid_block.resnets.1', topDim, topDim);
  groups.push({ id: 'embed', kind: 'embed', executionIndex: null, tensors: embed.tensors });
  const blocks = upBlockChannels(c);
  blocks.forEach(({ input, output }, i) => {
    const b = new GroupBuilder(`decoder.up_blocks.${i}.`);
    const out = ch(output, `block_out_channels[${c.blockOutChannels.length - 1 - i}]`);
    for (let j = 0; j <= c.layersPerBlock; j++) {
      resnet(b, `resnets.${j}`, j === 0 ? ch(input, 'block_out_channels') : out, out);
    }
    if (i < blocks.length - 1) conv(b, 'upsamplers.0.conv', out, out, 3);
    groups.push({ id: `decoder.up_blocks.${i}`, kind: 'embed', executionIndex: null, tensors: b.tensors });
  });
  const head = new GroupBuilder('decoder.');
  const bottom = ch(c.blockOutChannels[0] as number, 'block_out_channels[0]');
  norm(head, 'conv_norm_out', bottom);
  conv(head, 'conv_out', ch(c.outChannels, 'out_channels'), bottom, 3);
  groups.push({ id: 'head', kind: 'head', executionIndex: null, tensors: head.tensors });
  return { className: 'AutoencoderKL', groups };
}

export function vaeBlockCounts(c: VaeConfig): BlockCount[] {
  return [
    {
      prefix: 'decoder.up_blocks',
      field: 'block_out_channels (its length)',
      count: c.blockOutChannels.length,
    },
  ];
}

/** The encoder half and quant_conv: present in VAE files, not used to decode. */
export const vaeUnused = (stored: string): boolean =>
  stored.startsWith('encoder.') || stored.startsWith('quant_conv.');
