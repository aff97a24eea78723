/**
 * FluxPosEmbed: rotary tables from 3-axis position ids (runtime.md §1.4 step 6). Per axis a with width d_a,
 * ω_j = 1/10000^(2j/d_a); angle = pos·ω_j in float64 (as diffusers on CPU/CUDA); cos and sin are repeated
 * pairwise (c0, c0, c1, c1, …) — the interleaved layout the rope kernel expects — and concatenated over
 * the axes into [S, head_dim] float32 tables.
 */
import { type Device, Tensor } from '../../native/index.js';

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

/**
 * The tables of the last position ids seen, kept where the model runs. A request's ids are the same at
 * every step, so the tables are built on the host and uploaded once per request instead of once per
 * step; each forward gets views of them (releasing a view leaves the kept tables alone).
 */
export class RopeTableCache {
  private positions: Float32Array | null = null;
  private tables: RopeTables | null = null;

  constructor(
    private readonly axesDims: readonly number[],
    private readonly device: Device,
  ) {}

  /** Views of the tables of `ids` (host [S, 3]); the caller releases them. */
  tablesFor(ids: Tensor): RopeTables {
    const positions = ids.toFloat32Array();
    if (!this.tables || !sameValues(this.positions, positions)) {
      this.release();
      const host = fluxRopeTables(ids, this.axesDims);
      this.tables =
        this.device === 'cpu'
          ? host
          : { cos: onDevice(host.cos, this.device), sin: onDevice(host.sin, this.device) };
      this.positions = positions.slice();
    }
    return {
      cos: this.tables.cos.reshape(this.tables.cos.shape),
      sin: this.tables.sin.reshape(this.tables.sin.shape),
    };
  }

  release(): void {
    this.tables?.cos.release();
    this.tables?.sin.release();
    this.tables = null;
    this.positions = null;
  }
}

function onDevice(host: Tensor, device: Device): Tensor {
  const moved = host.toDevice(device);
  host.release();
  return moved;
}

function sameValues(a: Float32Array | null, b: Float32Array): boolean {
  if (a === null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
