/**
 * FluxPosEmbed: rotary tables from 3-axis position ids (runtime.md §1.4 step 6). Per axis a with width d_a,
 * ω_j = 1/10000^(2j/d_a); angle = pos·ω_j in float64 (as diffusers on CPU/CUDA); cos and sin are repeated
 * pairwise (c0, c0, c1, c1, …) — the interleaved layout the rope kernel expects — and concatenated over
 * the axes into [S, head_dim] float32 tables.
 */
import { Tensor } from '../../native/index.js';

const THETA = 10000;

export interface RopeTables {
  cos: Tensor;
  sin: Tensor;
}

/** ids [S, 3] (float positions, [text; image] order for the joint sequence). */
export function fluxRopeTables(ids: Tensor, axesDims: readonly number[]): RopeTables {
  if (ids.rank !== 2 || ids.size(1) !== axesDims.length) {
    throw new Error(
      `position ids must be [tokens, ${axesDims.length}], got [${ids.shape.join(', ')}] (pass 2-D img_ids/txt_ids)`,
    );
  }
  const tokens = ids.size(0);
  const width = axesDims.reduce((a, b) => a + b, 0);
  const positions = ids.toFloat32Array();
  const cos = new Float32Array(tokens * width);
  const sin = new Float32Array(tokens * width);
  const freqs = axesDims.map((d) => Array.from({ length: d / 2 }, (_, j) => 1 / THETA ** ((2 * j) / d)));
  for (let s = 0; s < tokens; s++) {
    let column = s * width;
    axesDims.forEach((_, axis) => {
      const pos = positions[s * axesDims.length + axis] as number;
      for (const w of freqs[axis] ?? []) {
        const angle = pos * w;
        const c = Math.cos(angle);
        const sn = Math.sin(angle);
        cos[column] = c;
        cos[column + 1] = c;
        sin[column] = sn;
        sin[column + 1] = sn;
        column += 2;
      }
    });
  }
  return { cos: Tensor.fromArray(cos, [tokens, width]), sin: Tensor.fromArray(sin, [tokens, width]) };
}
